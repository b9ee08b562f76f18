package io.whetstone.models.kernels;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The kernels as chains of ND4J ops: slower on CPU than {@link FusedCpuKernels} (every op call has a
 * fixed cost), but they never touch host memory directly, so the same model runs on ND4J's CUDA
 * backend. Any data type. Tests compare each method with {@link ReferenceKernels}.
 */
public final class Nd4jKernels implements Kernels {

    private static final double GELU_C = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_A = 0.044715;

    private static int cols(INDArray matrix) {
        return (int) matrix.size(matrix.rank() - 1);
    }

    private static int rows(INDArray matrix) {
        return (int) (matrix.length() / cols(matrix));
    }

    private static INDArray matrix(INDArray array) {
        return array.reshape(rows(array), cols(array));
    }

    private static INDArray column(INDArray vector) {
        return vector.reshape(vector.length(), 1);
    }

    private static INDArray indices(int[] values) {
        return Nd4j.createFromArray(values);
    }

    private static void exec(String name, INDArray[] inputs, INDArray[] outputs, int[] ints, boolean... bools) {
        DynamicCustomOp.DynamicCustomOpsBuilder builder = DynamicCustomOp.builder(name)
                .addInputs(inputs).addOutputs(outputs);
        if (ints.length > 0) {
            builder.addIntegerArguments(ints);
        }
        if (bools.length > 0) {
            builder.addBooleanArguments(bools);
        }
        Nd4j.exec(builder.build());
    }

    @Override
    public void embed(int[] tokens, INDArray table, INDArray positions, int seqLen, INDArray out) {
        INDArray rows = matrix(out);
        exec("gather", new INDArray[] {table, indices(tokens)}, new INDArray[] {rows}, new int[] {0});
        if (positions != null) {
            int width = cols(table);
            INDArray stream = rows.reshape(tokens.length / seqLen, seqLen, width);
            INDArray used = positions.get(NDArrayIndex.interval(0, seqLen), NDArrayIndex.all());
            Broadcast.add(stream, used, stream, 1, 2);
        }
    }

    @Override
    public void embedBackward(int[] tokens, INDArray dOut, INDArray dTable, INDArray dPositions, int seqLen) {
        INDArray grads = matrix(dOut);
        // scatter_add loses updates for repeated indices unless its lock argument is true.
        exec("scatter_add", new INDArray[] {dTable, indices(tokens), grads}, new INDArray[] {dTable}, new int[0],
                true);
        if (dPositions != null) {
            int width = cols(dTable);
            INDArray perPosition = grads.reshape(tokens.length / seqLen, seqLen, width).sum(0);
            dPositions.get(NDArrayIndex.interval(0, seqLen), NDArrayIndex.all()).addi(perPosition);
        }
    }

    @Override
    public void layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, INDArray out, INDArray mean,
                          INDArray rstd) {
        INDArray xs = matrix(x);
        INDArray mu = xs.mean(1);
        INDArray centered = xs.subColumnVector(column(mu));
        INDArray inverse = Transforms.pow(centered.mul(centered).mean(1).addi(eps), -0.5, false);
        matrix(out).assign(centered.muliColumnVector(column(inverse)).muliRowVector(gamma).addiRowVector(beta));
        mean.assign(mu);
        rstd.assign(inverse);
    }

    @Override
    public void layerNormBackward(INDArray dOut, INDArray x, INDArray gamma, INDArray mean, INDArray rstd,
                                  INDArray dx, INDArray dGamma, INDArray dBeta) {
        INDArray dy = matrix(dOut);
        INDArray xhat = matrix(x).subColumnVector(column(mean)).muliColumnVector(column(rstd));
        INDArray dxhat = dy.mulRowVector(gamma);
        dGamma.addi(dy.mul(xhat).sum(0));
        dBeta.addi(dy.sum(0));
        INDArray meanDxhat = dxhat.mean(1);
        INDArray meanDxhatXhat = dxhat.mul(xhat).mean(1);
        INDArray grad = dxhat.subiColumnVector(column(meanDxhat))
                .subi(xhat.muliColumnVector(column(meanDxhatXhat)))
                .muliColumnVector(column(rstd));
        matrix(dx).addi(grad);
    }

    @Override
    public void rmsNorm(INDArray x, INDArray weight, double eps, INDArray out, INDArray rstd) {
        INDArray xs = matrix(x);
        INDArray inverse = Transforms.pow(xs.mul(xs).mean(1).addi(eps), -0.5, false);
        matrix(out).assign(xs.mulColumnVector(column(inverse)).muliRowVector(weight));
        rstd.assign(inverse);
    }

    @Override
    public void rmsNormBackward(INDArray dOut, INDArray x, INDArray weight, INDArray rstd, INDArray dx,
                                INDArray dWeight) {
        INDArray dy = matrix(dOut);
        INDArray xs = matrix(x);
        INDArray inverse = column(rstd);
        dWeight.addi(dy.mul(xs).muliColumnVector(inverse).sum(0));
        INDArray dyw = dy.mulRowVector(weight);
        INDArray meanDot = dyw.mul(xs).mean(1);
        INDArray cube = Transforms.pow(rstd, 3, true).muli(meanDot);
        matrix(dx).addi(dyw.muliColumnVector(inverse).subi(xs.mulColumnVector(column(cube))));
    }

    @Override
    public void biasGelu(INDArray preact, INDArray bias, INDArray out) {
        INDArray x = matrix(preact);
        if (bias != null) {
            x.addiRowVector(bias);
        }
        matrix(out).assign(gelu(x));
    }

    @Override
    public void biasGeluWithDerivative(INDArray preact, INDArray bias, INDArray out) {
        INDArray x = matrix(preact);
        if (bias != null) {
            x.addiRowVector(bias);
        }
        matrix(out).assign(gelu(x));
        x.assign(geluDerivative(x));
    }

    @Override
    public void geluBackward(INDArray dOut, INDArray derivative, INDArray dPreact, INDArray dBias) {
        matrix(dPreact).assign(matrix(dOut).mul(matrix(derivative)));
        if (dBias != null) {
            biasGradient(dPreact, dBias);
        }
    }

    /** tanh-GELU of x, a new array: 0.5 x (1 + tanh(c (x + a x^3))). */
    private static INDArray gelu(INDArray x) {
        INDArray tanh = Transforms.tanh(x.mul(x).muli(GELU_A).addi(1).muli(x).muli(GELU_C), false);
        return tanh.addi(1).muli(x).muli(0.5);
    }

    /** d gelu / dx, a new array: 0.5 (1 + tanh) + 0.5 x (1 - tanh^2) c (1 + 3 a x^2). */
    private static INDArray geluDerivative(INDArray x) {
        INDArray x2 = x.mul(x);
        INDArray tanh = Transforms.tanh(x2.mul(GELU_A).addi(1).muli(x).muli(GELU_C), false);
        INDArray slope = tanh.mul(tanh).rsubi(1).muli(x).muli(x2.muli(3 * GELU_A).addi(1)).muli(0.5 * GELU_C);
        return tanh.addi(1).muli(0.5).addi(slope);
    }

    /** silu(x) = x sigmoid(x), a new array. */
    private static INDArray silu(INDArray x) {
        return Transforms.sigmoid(x, true).muli(x);
    }

    /** d silu / dx = sigmoid (1 + x (1 - sigmoid)), a new array. */
    private static INDArray siluDerivative(INDArray x) {
        INDArray sigmoid = Transforms.sigmoid(x, true);
        return sigmoid.rsub(1).muli(x).addi(1).muli(sigmoid);
    }

    private static INDArray gateHalf(INDArray gateUp, int hidden) {
        return matrix(gateUp).get(NDArrayIndex.all(), NDArrayIndex.interval(0, hidden));
    }

    private static INDArray upHalf(INDArray gateUp, int hidden) {
        return matrix(gateUp).get(NDArrayIndex.all(), NDArrayIndex.interval(hidden, 2 * hidden));
    }

    @Override
    public void swiglu(INDArray gateUp, INDArray out) {
        gated(gateUp, out, Nd4jKernels::silu);
    }

    @Override
    public void swigluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp) {
        gatedBackward(dOut, gateUp, dGateUp, Nd4jKernels::silu, Nd4jKernels::siluDerivative);
    }

    @Override
    public void geglu(INDArray gateUp, INDArray out) {
        gated(gateUp, out, Nd4jKernels::gelu);
    }

    @Override
    public void gegluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp) {
        gatedBackward(dOut, gateUp, dGateUp, Nd4jKernels::gelu, Nd4jKernels::geluDerivative);
    }

    /** out [N, F] = activation(gate) * up, gateUp [N, 2F] = [gate | up]. */
    private static void gated(INDArray gateUp, INDArray out, java.util.function.UnaryOperator<INDArray> activation) {
        int hidden = cols(out);
        matrix(out).assign(activation.apply(gateHalf(gateUp, hidden)).muli(upHalf(gateUp, hidden)));
    }

    /** dGateUp [N, 2F] from dOut [N, F] through {@link #gated}. */
    private static void gatedBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp,
                                      java.util.function.UnaryOperator<INDArray> activation,
                                      java.util.function.UnaryOperator<INDArray> derivative) {
        int hidden = cols(dOut);
        INDArray gate = gateHalf(gateUp, hidden);
        INDArray dy = matrix(dOut);
        gateHalf(dGateUp, hidden).assign(dy.mul(upHalf(gateUp, hidden)).muli(derivative.apply(gate)));
        upHalf(dGateUp, hidden).assign(dy.mul(activation.apply(gate)));
    }

    /** qkv columns [from, from + heads*D) as [B, T, heads, D]. */
    private static INDArray headColumns(INDArray qkv, AttentionShape s, int from, int heads) {
        INDArray block = matrix(qkv).get(NDArrayIndex.all(),
                NDArrayIndex.interval((long) from * s.headSize(), (long) (from + heads) * s.headSize()));
        return block.dup('c').reshape(s.batch(), s.seqLen(), heads, s.headSize());
    }

    /** Rotates [..., T, D] (T at dimension rank-2) by +angle or -angle, returning a new array. */
    private static INDArray rotate(INDArray heads, RopeTable rope, int seqLen, double direction) {
        long[] shape = heads.shape();
        int size = (int) shape[shape.length - 1];
        long leading = heads.length() / ((long) seqLen * size);
        INDArray pairs = heads.dup('c').reshape(leading, seqLen, size / 2, 2);
        INDArray x0 = pairs.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(0));
        INDArray x1 = pairs.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(1));
        INDArrayIndex[] used = {NDArrayIndex.interval(0, seqLen), NDArrayIndex.all()};
        INDArray cos = rope.cos().get(used).castTo(heads.dataType());
        INDArray sin = rope.sin().get(used).castTo(heads.dataType()).mul(direction);
        INDArray x0cos = Broadcast.mul(x0.dup('c'), cos, Nd4j.createUninitialized(heads.dataType(), leading, seqLen,
                size / 2), 1, 2);
        INDArray x1sin = Broadcast.mul(x1.dup('c'), sin, Nd4j.createUninitialized(heads.dataType(), leading, seqLen,
                size / 2), 1, 2);
        INDArray x0sin = Broadcast.mul(x0.dup('c'), sin, Nd4j.createUninitialized(heads.dataType(), leading, seqLen,
                size / 2), 1, 2);
        INDArray x1cos = Broadcast.mul(x1.dup('c'), cos, Nd4j.createUninitialized(heads.dataType(), leading, seqLen,
                size / 2), 1, 2);
        INDArray result = Nd4j.createUninitialized(heads.dataType(), leading, seqLen, size / 2, 2);
        result.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(0))
                .assign(x0cos.subi(x1sin));
        result.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(1))
                .assign(x0sin.addi(x1cos));
        return result.reshape(shape);
    }

    @Override
    public void splitHeads(INDArray qkv, INDArray bias, RopeTable rope, AttentionShape s, INDArray q, INDArray k,
                           INDArray v) {
        INDArray rows = bias == null ? matrix(qkv) : matrix(qkv).addRowVector(bias);
        int group = s.groupSize();
        // [B, T, H, D] -> [B, T, K, G, D] -> [B, K, G, T, D]
        INDArray queries = headColumns(rows, s, 0, s.heads())
                .reshape(s.batch(), s.seqLen(), s.kvHeads(), group, s.headSize()).permute(0, 2, 3, 1, 4);
        INDArray keys = headColumns(rows, s, s.heads(), s.kvHeads()).permute(0, 2, 1, 3);
        INDArray values = headColumns(rows, s, s.heads() + s.kvHeads(), s.kvHeads()).permute(0, 2, 1, 3);
        if (rope != null) {
            queries = rotate(queries.dup('c'), rope, s.seqLen(), 1);
            keys = rotate(keys.dup('c'), rope, s.seqLen(), 1);
        }
        q.assign(queries.reshape(q.shape()));
        k.assign(keys.reshape(k.shape()));
        v.assign(values.reshape(v.shape()));
    }

    @Override
    public void splitHeadsBackward(INDArray dq, INDArray dk, INDArray dv, RopeTable rope, AttentionShape s,
                                   INDArray dQkv) {
        INDArray queries = dq.reshape(s.batch(), s.kvHeads(), s.groupSize(), s.seqLen(), s.headSize());
        INDArray keys = dk.reshape(s.batch(), s.kvHeads(), s.seqLen(), s.headSize());
        INDArray values = dv.reshape(s.batch(), s.kvHeads(), s.seqLen(), s.headSize());
        if (rope != null) {
            queries = rotate(queries, rope, s.seqLen(), -1);
            keys = rotate(keys, rope, s.seqLen(), -1);
        }
        int size = s.headSize();
        INDArray out = matrix(dQkv);
        out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, (long) s.heads() * size))
                .assign(queries.permute(0, 3, 1, 2, 4).dup('c').reshape(s.rows(), (long) s.heads() * size));
        out.get(NDArrayIndex.all(), NDArrayIndex.interval((long) s.heads() * size,
                        (long) (s.heads() + s.kvHeads()) * size))
                .assign(keys.permute(0, 2, 1, 3).dup('c').reshape(s.rows(), (long) s.kvHeads() * size));
        out.get(NDArrayIndex.all(), NDArrayIndex.interval((long) (s.heads() + s.kvHeads()) * size,
                        (long) s.qkvWidth()))
                .assign(values.permute(0, 2, 1, 3).dup('c').reshape(s.rows(), (long) s.kvHeads() * size));
    }

    @Override
    public void mergeHeads(INDArray y, AttentionShape s, INDArray out) {
        INDArray heads = y.reshape(s.batch(), s.kvHeads(), s.groupSize(), s.seqLen(), s.headSize());
        out.reshape(s.batch(), s.seqLen(), s.kvHeads(), s.groupSize(), s.headSize())
                .assign(heads.permute(0, 3, 1, 2, 4));
    }

    @Override
    public void mergeHeadsBackward(INDArray dOut, AttentionShape s, INDArray dy) {
        INDArray rows = dOut.reshape(s.batch(), s.seqLen(), s.kvHeads(), s.groupSize(), s.headSize());
        dy.reshape(s.batch(), s.kvHeads(), s.groupSize(), s.seqLen(), s.headSize())
                .assign(rows.permute(0, 2, 3, 1, 4));
    }

    /** Additive mask [G*T, T]: 0 where key j <= position (r mod T), -inf after it. */
    private static INDArray causalMask(AttentionShape s, DataType dataType) {
        int seqLen = s.seqLen();
        int rows = s.groupSize() * seqLen;
        float[] mask = new float[rows * seqLen];
        for (int r = 0; r < rows; r++) {
            for (int j = r % seqLen + 1; j < seqLen; j++) {
                mask[r * seqLen + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return Nd4j.create(mask, new long[] {rows, seqLen}, 'c').castTo(dataType);
    }

    @Override
    public void attention(INDArray q, INDArray k, INDArray v, double scale, AttentionShape s, INDArray probs,
                          INDArray y) {
        Nd4j.matmul(q, k, probs, false, true, false);
        causalSoftmax(probs, scale, s);
        Nd4j.matmul(probs, v, y, false, false, false);
    }

    @Override
    public void attentionBackward(INDArray q, INDArray k, INDArray v, INDArray probs, INDArray dy, double scale,
                                  AttentionShape s, INDArray dq, INDArray dk, INDArray dv) {
        INDArray dScores = Nd4j.createUninitialized(probs.dataType(), probs.shape());
        Nd4j.matmul(dy, v, dScores, false, true, false);
        Nd4j.matmul(probs, dy, dv, true, false, false);
        causalSoftmaxBackward(probs, dScores, scale, s);
        Nd4j.matmul(dScores, k, dq, false, false, false);
        Nd4j.matmul(dScores, q, dk, true, false, false);
    }

    private static void causalSoftmax(INDArray scores, double scale, AttentionShape s) {
        INDArray cube = scores.reshape(scores.length() / ((long) s.groupSize() * s.seqLen() * s.seqLen()),
                (long) s.groupSize() * s.seqLen(), s.seqLen());
        cube.muli(scale);
        Broadcast.add(cube, causalMask(s, scores.dataType()), cube, 1, 2);
        Nd4j.exec(new SoftMax(cube, cube, -1));
    }

    private static void causalSoftmaxBackward(INDArray probs, INDArray dProbs, double scale, AttentionShape s) {
        long matrices = probs.length() / ((long) s.groupSize() * s.seqLen() * s.seqLen());
        long rows = (long) s.groupSize() * s.seqLen();
        INDArray p = probs.reshape(matrices, rows, s.seqLen());
        INDArray d = dProbs.reshape(matrices, rows, s.seqLen());
        INDArray rowDot = d.mul(p).sum(2);
        Broadcast.sub(d, rowDot, d, 0, 1);
        d.muli(p).muli(scale);
    }

    @Override
    public void addResidual(INDArray residual, INDArray y, INDArray bias, INDArray out) {
        INDArray sum = matrix(residual).add(matrix(y));
        if (bias != null) {
            sum.addiRowVector(bias);
        }
        matrix(out).assign(sum);
    }

    @Override
    public void biasGradient(INDArray dOut, INDArray dBias) {
        dBias.addi(matrix(dOut).sum(0));
    }

    /** Flat indices n*V + target (0 where the target is negative) and a 1/0 validity mask. */
    private static INDArray[] targetIndices(int[] targets, int vocab, DataType dataType) {
        long[] flat = new long[targets.length];
        double[] valid = new double[targets.length];
        for (int n = 0; n < targets.length; n++) {
            flat[n] = targets[n] < 0 ? 0 : (long) n * vocab + targets[n];
            valid[n] = targets[n] < 0 ? 0 : 1;
        }
        return new INDArray[] {Nd4j.createFromArray(flat), Nd4j.createFromArray(valid).castTo(dataType)};
    }

    private static INDArray logSumExp(INDArray logits) {
        INDArray max = logits.max(1);
        INDArray shifted = logits.subColumnVector(column(max));
        return Transforms.log(Transforms.exp(shifted, false).sum(1), false).addi(max);
    }

    @Override
    public void targetLogProbs(INDArray logits, int[] targets, INDArray logProbs, INDArray logSumExp) {
        INDArray rows = matrix(logits);
        int vocab = cols(rows);
        INDArray lse = logSumExp(rows);
        INDArray[] index = targetIndices(targets, vocab, logits.dataType());
        INDArray picked = Nd4j.createUninitialized(logits.dataType(), targets.length);
        exec("gather", new INDArray[] {rows.reshape(rows.length()), index[0]}, new INDArray[] {picked},
                new int[] {0});
        logSumExp.assign(lse);
        logProbs.assign(picked.subi(lse).muli(index[1]));
    }

    @Override
    public void logitsBackward(INDArray logits, INDArray logSumExp, int[] targets, INDArray dLogProbs,
                               INDArray extraDLogits) {
        INDArray rows = matrix(logits);
        int vocab = cols(rows);
        INDArray[] index = targetIndices(targets, vocab, logits.dataType());
        INDArray grad = dLogProbs.reshape(targets.length).mul(index[1]);
        INDArray probabilities = Transforms.exp(rows.subColumnVector(column(logSumExp)), false);
        INDArray result = probabilities.muliColumnVector(column(grad.neg()));
        if (extraDLogits != null) {
            result.addi(matrix(extraDLogits));
        }
        int[] clamped = new int[targets.length];
        for (int n = 0; n < targets.length; n++) {
            clamped[n] = Math.max(targets[n], 0); // rows with no target have grad 0
        }
        INDArray oneHot = Nd4j.createUninitialized(logits.dataType(), targets.length, vocab);
        Nd4j.exec(new OneHot(indices(clamped), oneHot, vocab));
        result.addi(oneHot.muliColumnVector(column(grad)));
        rows.assign(result);
    }

    @Override
    public void adamW(INDArray params, INDArray grads, INDArray m, INDArray v, long decayedLength, AdamStep step) {
        if (decayedLength > 0 && step.weightDecay() != 0) {
            params.get(NDArrayIndex.interval(0, decayedLength)).muli(1 - step.learningRate() * step.weightDecay());
        }
        INDArray g = grads.mul(step.gradScale());
        m.muli(step.beta1()).addi(g.mul(1 - step.beta1()));
        v.muli(step.beta2()).addi(g.muli(g).muli(1 - step.beta2()));
        INDArray denominator = Transforms.sqrt(v.div(step.secondCorrection()), false).addi(step.epsilon());
        params.subi(m.div(denominator).muli(step.learningRate() / step.firstCorrection()));
    }

    @Override
    public double sumOfSquares(INDArray vector) {
        double norm = vector.norm2Number().doubleValue();
        return norm * norm;
    }
}
