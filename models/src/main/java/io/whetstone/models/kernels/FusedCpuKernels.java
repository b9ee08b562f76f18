package io.whetstone.models.kernels;

import java.nio.FloatBuffer;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The fast path on CPU: each kernel is one pass over ND4J's host memory, fp32, vectorised with the JDK
 * Vector API (its {@code EXP} runs at about 0.3 ns per element here, where {@code Math.exp} takes 14 ns;
 * chains of ND4J ops cost 15-150 us per call). Rows are copied in bulk into per-thread scratch arrays
 * padded to whole vectors, computed there, and copied back, so no loop needs a scalar tail.
 *
 * <p>Needs {@code --add-modules jdk.incubator.vector}; {@link KernelChoice} checks for it before this
 * class is loaded. Every method has a twin in {@link ReferenceKernels} that the tests compare it with.
 */
public final class FusedCpuKernels implements Kernels, AutoCloseable {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = S.length();
    private static final float GELU_C = (float) Math.sqrt(2.0 / Math.PI);
    private static final float GELU_A = 0.044715f;
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);

    private final RowParallel parallel;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /** Kernels that split rows over {@code threads} threads (the caller counts as one). */
    public FusedCpuKernels(int threads) {
        this(threads, RowParallel.DEFAULT_MIN_PARALLEL_WORK);
    }

    /** As above, splitting any call with at least {@code minParallelWork} elements (tests use 1). */
    public FusedCpuKernels(int threads, long minParallelWork) {
        this.parallel = new RowParallel(threads, minParallelWork);
    }

    /** Per-thread row buffers, grown on demand; each is at least a whole number of vectors long. */
    private static final class Scratch {
        float[] a = new float[0];
        float[] b = new float[0];
        float[] c = new float[0];
        float[] d = new float[0];

        float[] a(int n) {
            return a.length >= padded(n) ? a : (a = new float[padded(n)]);
        }

        float[] b(int n) {
            return b.length >= padded(n) ? b : (b = new float[padded(n)]);
        }

        float[] c(int n) {
            return c.length >= padded(n) ? c : (c = new float[padded(n)]);
        }

        float[] d(int n) {
            return d.length >= padded(n) ? d : (d = new float[padded(n)]);
        }
    }

    private static int padded(int n) {
        return (n + LANES - 1) / LANES * LANES;
    }

    private static FloatBuffer host(INDArray array) {
        if (array.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("fused CPU kernels run in fp32, got " + array.dataType());
        }
        return array.data().asNioFloat();
    }

    private static int base(INDArray array) {
        return (int) array.offset();
    }

    private static int cols(INDArray matrix) {
        return (int) matrix.size(matrix.rank() - 1);
    }

    private static int rows(INDArray matrix) {
        return (int) (matrix.length() / cols(matrix));
    }

    /** Copies n floats from buf[index] into dst and fills the padding up to a whole vector with pad. */
    private static void load(FloatBuffer buf, int index, float[] dst, int n, float pad) {
        buf.get(index, dst, 0, n);
        Arrays.fill(dst, n, padded(n), pad);
    }

    private static VectorMask<Float> tail(int i, int n) {
        return S.indexInRange(i, n);
    }

    private static float sum(float[] a, int n) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < n; i += LANES) {
            acc = acc.add(FloatVector.fromArray(S, a, i), tail(i, n));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static float max(float[] a, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i += LANES) {
            acc = acc.lanewise(VectorOperators.MAX, FloatVector.fromArray(S, a, i), tail(i, n));
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    private static float dot(float[] a, float[] b, int n) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < n; i += LANES) {
            acc = acc.add(FloatVector.fromArray(S, a, i).mul(FloatVector.fromArray(S, b, i)), tail(i, n));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** 1 / (1 + exp(-x)), lane-wise. */
    private static FloatVector sigmoid(FloatVector x) {
        return ONE.div(x.neg().lanewise(VectorOperators.EXP).add(1f));
    }

    // ---------------------------------------------------------------- embedding

    @Override
    public void embed(int[] tokens, INDArray table, INDArray positions, int seqLen, INDArray out) {
        FloatBuffer tableBuf = host(table);
        FloatBuffer positionBuf = positions == null ? null : host(positions);
        FloatBuffer outBuf = host(out);
        int width = cols(table);
        parallel.run(tokens.length, width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] position = s.b(width);
            for (int n = start; n < end; n++) {
                load(tableBuf, base(table) + tokens[n] * width, row, width, 0f);
                if (positionBuf != null) {
                    load(positionBuf, base(positions) + (n % seqLen) * width, position, width, 0f);
                    for (int i = 0; i < width; i += LANES) {
                        FloatVector.fromArray(S, row, i).add(FloatVector.fromArray(S, position, i)).intoArray(row, i);
                    }
                }
                outBuf.put(base(out) + n * width, row, 0, width);
            }
        });
    }

    @Override
    public void embedBackward(int[] tokens, INDArray dOut, INDArray dTable, INDArray dPositions, int seqLen) {
        // One thread: rows with the same token would race, and this pass is small next to the GEMMs.
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer dTableBuf = host(dTable);
        FloatBuffer dPositionBuf = dPositions == null ? null : host(dPositions);
        int width = cols(dTable);
        Scratch s = scratch.get();
        float[] grad = s.a(width);
        float[] acc = s.b(width);
        for (int n = 0; n < tokens.length; n++) {
            load(dOutBuf, base(dOut) + n * width, grad, width, 0f);
            addInto(dTableBuf, base(dTable) + tokens[n] * width, grad, acc, width);
            if (dPositionBuf != null) {
                addInto(dPositionBuf, base(dPositions) + (n % seqLen) * width, grad, acc, width);
            }
        }
    }

    /** buf[index .. index+n) += values, using acc as scratch. */
    private static void addInto(FloatBuffer buf, int index, float[] values, float[] acc, int n) {
        load(buf, index, acc, n, 0f);
        for (int i = 0; i < n; i += LANES) {
            FloatVector.fromArray(S, acc, i).add(FloatVector.fromArray(S, values, i)).intoArray(acc, i);
        }
        buf.put(index, acc, 0, n);
    }

    // ---------------------------------------------------------------- norms

    @Override
    public void layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, INDArray out, INDArray mean,
                          INDArray rstd) {
        FloatBuffer xBuf = host(x);
        FloatBuffer outBuf = host(out);
        FloatBuffer meanBuf = host(mean);
        FloatBuffer rstdBuf = host(rstd);
        int width = cols(x);
        float[] g = new float[padded(width)];
        float[] bias = new float[padded(width)];
        host(gamma).get(base(gamma), g, 0, width);
        host(beta).get(base(beta), bias, 0, width);
        parallel.run(rows(x), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            for (int n = start; n < end; n++) {
                load(xBuf, base(x) + n * width, row, width, 0f);
                float mu = sum(row, width) / width;
                FloatVector acc = FloatVector.zero(S);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector centered = FloatVector.fromArray(S, row, i).sub(mu);
                    acc = acc.add(centered.mul(centered), tail(i, width));
                }
                float inverse = (float) (1.0 / Math.sqrt(acc.reduceLanes(VectorOperators.ADD) / width + eps));
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, row, i).sub(mu).mul(inverse)
                            .fma(FloatVector.fromArray(S, g, i), FloatVector.fromArray(S, bias, i))
                            .intoArray(row, i);
                }
                outBuf.put(base(out) + n * width, row, 0, width);
                meanBuf.put(base(mean) + n, mu);
                rstdBuf.put(base(rstd) + n, inverse);
            }
        });
    }

    @Override
    public void layerNormBackward(INDArray dOut, INDArray x, INDArray gamma, INDArray mean, INDArray rstd,
                                  INDArray dx, INDArray dGamma, INDArray dBeta) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer xBuf = host(x);
        FloatBuffer dxBuf = host(dx);
        FloatBuffer meanBuf = host(mean);
        FloatBuffer rstdBuf = host(rstd);
        int width = cols(x);
        int rows = rows(x);
        float[] g = new float[padded(width)];
        host(gamma).get(base(gamma), g, 0, width);
        int chunks = parallel.chunks(rows, width);
        float[][] partialGamma = new float[chunks][padded(width)];
        float[][] partialBeta = new float[chunks][padded(width)];
        parallel.run(rows, width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(width);
            float[] xhat = s.b(width);
            float[] dxhat = s.c(width);
            float[] dxRow = s.d(width);
            float[] pg = partialGamma[chunk];
            float[] pb = partialBeta[chunk];
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * width, dy, width, 0f);
                load(xBuf, base(x) + n * width, xhat, width, 0f);
                float mu = meanBuf.get(base(mean) + n);
                float inverse = rstdBuf.get(base(rstd) + n);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector dyv = FloatVector.fromArray(S, dy, i);
                    FloatVector xh = FloatVector.fromArray(S, xhat, i).sub(mu).mul(inverse);
                    xh.intoArray(xhat, i);
                    dyv.mul(FloatVector.fromArray(S, g, i)).intoArray(dxhat, i);
                    dyv.fma(xh, FloatVector.fromArray(S, pg, i)).intoArray(pg, i);
                    dyv.add(FloatVector.fromArray(S, pb, i)).intoArray(pb, i);
                }
                float meanDxhat = sum(dxhat, width) / width;
                float meanDxhatXhat = dot(dxhat, xhat, width) / width;
                load(dxBuf, base(dx) + n * width, dxRow, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector term = FloatVector.fromArray(S, dxhat, i).sub(meanDxhat)
                            .sub(FloatVector.fromArray(S, xhat, i).mul(meanDxhatXhat));
                    term.mul(inverse).add(FloatVector.fromArray(S, dxRow, i)).intoArray(dxRow, i);
                }
                dxBuf.put(base(dx) + n * width, dxRow, 0, width);
            }
        });
        addPartials(partialGamma, dGamma, width);
        addPartials(partialBeta, dBeta, width);
    }

    /** target += sum of the per-chunk partial vectors. */
    private static void addPartials(float[][] partials, INDArray target, int width) {
        float[] total = new float[padded(width)];
        host(target).get(base(target), total, 0, width);
        for (float[] partial : partials) {
            for (int i = 0; i < width; i += LANES) {
                FloatVector.fromArray(S, total, i).add(FloatVector.fromArray(S, partial, i)).intoArray(total, i);
            }
        }
        host(target).put(base(target), total, 0, width);
    }

    @Override
    public void rmsNorm(INDArray x, INDArray weight, double eps, INDArray out, INDArray rstd) {
        FloatBuffer xBuf = host(x);
        FloatBuffer outBuf = host(out);
        FloatBuffer rstdBuf = host(rstd);
        int width = cols(x);
        float[] w = new float[padded(width)];
        host(weight).get(base(weight), w, 0, width);
        parallel.run(rows(x), width, (chunk, start, end) -> {
            float[] row = scratch.get().a(width);
            for (int n = start; n < end; n++) {
                load(xBuf, base(x) + n * width, row, width, 0f);
                float inverse = (float) (1.0 / Math.sqrt(dot(row, row, width) / width + eps));
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, row, i).mul(inverse).mul(FloatVector.fromArray(S, w, i)).intoArray(row, i);
                }
                outBuf.put(base(out) + n * width, row, 0, width);
                rstdBuf.put(base(rstd) + n, inverse);
            }
        });
    }

    @Override
    public void rmsNormBackward(INDArray dOut, INDArray x, INDArray weight, INDArray rstd, INDArray dx,
                                INDArray dWeight) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer xBuf = host(x);
        FloatBuffer dxBuf = host(dx);
        FloatBuffer rstdBuf = host(rstd);
        int width = cols(x);
        int rows = rows(x);
        float[] w = new float[padded(width)];
        host(weight).get(base(weight), w, 0, width);
        float[][] partialWeight = new float[parallel.chunks(rows, width)][padded(width)];
        parallel.run(rows, width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(width);
            float[] xRow = s.b(width);
            float[] dyw = s.c(width);
            float[] dxRow = s.d(width);
            float[] pw = partialWeight[chunk];
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * width, dy, width, 0f);
                load(xBuf, base(x) + n * width, xRow, width, 0f);
                float inverse = rstdBuf.get(base(rstd) + n);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector dyv = FloatVector.fromArray(S, dy, i);
                    FloatVector xv = FloatVector.fromArray(S, xRow, i);
                    dyv.mul(FloatVector.fromArray(S, w, i)).intoArray(dyw, i);
                    dyv.mul(xv).mul(inverse).add(FloatVector.fromArray(S, pw, i)).intoArray(pw, i);
                }
                float meanDot = dot(dyw, xRow, width) / width;
                float cube = inverse * inverse * inverse * meanDot;
                load(dxBuf, base(dx) + n * width, dxRow, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, dyw, i).mul(inverse)
                            .sub(FloatVector.fromArray(S, xRow, i).mul(cube))
                            .add(FloatVector.fromArray(S, dxRow, i)).intoArray(dxRow, i);
                }
                dxBuf.put(base(dx) + n * width, dxRow, 0, width);
            }
        });
        addPartials(partialWeight, dWeight, width);
    }

    // ---------------------------------------------------------------- MLP activations

    @Override
    public void biasGelu(INDArray preact, INDArray bias, INDArray out) {
        FloatBuffer preBuf = host(preact);
        FloatBuffer outBuf = host(out);
        int width = cols(preact);
        float[] b = new float[padded(width)];
        if (bias != null) {
            host(bias).get(base(bias), b, 0, width);
        }
        parallel.run(rows(preact), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] result = s.b(width);
            for (int n = start; n < end; n++) {
                load(preBuf, base(preact) + n * width, row, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector x = FloatVector.fromArray(S, row, i).add(FloatVector.fromArray(S, b, i));
                    x.intoArray(row, i);
                    // 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = c (x + a x^3)
                    FloatVector twoU = x.mul(x).mul(GELU_A).add(1f).mul(x).mul(2 * GELU_C);
                    x.mul(sigmoid(twoU)).intoArray(result, i);
                }
                if (bias != null) {
                    preBuf.put(base(preact) + n * width, row, 0, width);
                }
                outBuf.put(base(out) + n * width, result, 0, width);
            }
        });
    }

    @Override
    public void geluBackward(INDArray dOut, INDArray preact, INDArray dPreact) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer preBuf = host(preact);
        FloatBuffer dPreBuf = host(dPreact);
        int width = cols(preact);
        parallel.run(rows(preact), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(width);
            float[] xs = s.b(width);
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * width, dy, width, 0f);
                load(preBuf, base(preact) + n * width, xs, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector x = FloatVector.fromArray(S, xs, i);
                    FloatVector x2 = x.mul(x);
                    FloatVector sig = sigmoid(x2.mul(GELU_A).add(1f).mul(x).mul(2 * GELU_C));
                    // d/dx = s + 2 x s (1 - s) c (1 + 3 a x^2), s = sigmoid(2u)
                    FloatVector inner = x2.mul(3 * GELU_A).add(1f).mul(2 * GELU_C);
                    FloatVector derivative = sig.neg().add(1f).mul(sig).mul(x).mul(inner).add(sig);
                    FloatVector.fromArray(S, dy, i).mul(derivative).intoArray(dy, i);
                }
                dPreBuf.put(base(dPreact) + n * width, dy, 0, width);
            }
        });
    }

    @Override
    public void swiglu(INDArray gateUp, INDArray out) {
        FloatBuffer inBuf = host(gateUp);
        FloatBuffer outBuf = host(out);
        int hidden = cols(out);
        parallel.run(rows(out), 2L * hidden, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] gate = s.a(hidden);
            float[] up = s.b(hidden);
            for (int n = start; n < end; n++) {
                load(inBuf, base(gateUp) + n * 2 * hidden, gate, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden + hidden, up, hidden, 0f);
                for (int i = 0; i < hidden; i += LANES) {
                    FloatVector g = FloatVector.fromArray(S, gate, i);
                    g.mul(sigmoid(g)).mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
                }
                outBuf.put(base(out) + n * hidden, gate, 0, hidden);
            }
        });
    }

    @Override
    public void swigluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer inBuf = host(gateUp);
        FloatBuffer dInBuf = host(dGateUp);
        int hidden = cols(dOut);
        parallel.run(rows(dOut), 2L * hidden, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(hidden);
            float[] gate = s.b(hidden);
            float[] up = s.c(hidden);
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * hidden, dy, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden, gate, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden + hidden, up, hidden, 0f);
                for (int i = 0; i < hidden; i += LANES) {
                    FloatVector g = FloatVector.fromArray(S, gate, i);
                    FloatVector u = FloatVector.fromArray(S, up, i);
                    FloatVector d = FloatVector.fromArray(S, dy, i);
                    FloatVector sig = sigmoid(g);
                    FloatVector silu = g.mul(sig);
                    // d silu/dg = sig (1 + g (1 - sig))
                    FloatVector dSilu = sig.neg().add(1f).mul(g).add(1f).mul(sig);
                    d.mul(u).mul(dSilu).intoArray(gate, i);
                    d.mul(silu).intoArray(up, i);
                }
                dInBuf.put(base(dGateUp) + n * 2 * hidden, gate, 0, hidden);
                dInBuf.put(base(dGateUp) + n * 2 * hidden + hidden, up, 0, hidden);
            }
        });
    }

    // ---------------------------------------------------------------- attention layout and softmax

    @Override
    public void splitHeads(INDArray qkv, INDArray bias, RopeTable rope, AttentionShape shape, INDArray q,
                           INDArray k, INDArray v) {
        FloatBuffer in = host(qkv);
        FloatBuffer qBuf = host(q);
        FloatBuffer kBuf = host(k);
        FloatBuffer vBuf = host(v);
        int width = shape.qkvWidth();
        int size = shape.headSize();
        int half = size / 2;
        int seqLen = shape.seqLen();
        float[] b = new float[padded(width)];
        if (bias != null) {
            host(bias).get(base(bias), b, 0, width);
        }
        FloatBuffer cosBuf = rope == null ? null : host(rope.cos());
        FloatBuffer sinBuf = rope == null ? null : host(rope.sin());
        parallel.run(shape.rows(), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] cos = s.b(half);
            float[] sin = s.c(half);
            for (int n = start; n < end; n++) {
                int batch = n / seqLen;
                int t = n % seqLen;
                load(in, base(qkv) + n * width, row, width, 0f);
                if (bias != null) {
                    for (int i = 0; i < width; i += LANES) {
                        FloatVector.fromArray(S, row, i).add(FloatVector.fromArray(S, b, i)).intoArray(row, i);
                    }
                }
                if (rope != null) {
                    cosBuf.get(base(rope.cos()) + t * half, cos, 0, half);
                    sinBuf.get(base(rope.sin()) + t * half, sin, 0, half);
                    for (int head = 0; head < shape.heads() + shape.kvHeads(); head++) {
                        rotate(row, head * size, cos, sin, half, 1f);
                    }
                }
                for (int kv = 0; kv < shape.kvHeads(); kv++) {
                    for (int g = 0; g < shape.groupSize(); g++) {
                        int head = kv * shape.groupSize() + g;
                        qBuf.put(base(q) + queryOffset(shape, batch, kv, g, t), row, head * size, size);
                    }
                    kBuf.put(base(k) + keyOffset(shape, batch, kv, t), row, (shape.heads() + kv) * size, size);
                    vBuf.put(base(v) + keyOffset(shape, batch, kv, t), row,
                            (shape.heads() + shape.kvHeads() + kv) * size, size);
                }
            }
        });
    }

    private static void rotate(float[] row, int offset, float[] cos, float[] sin, int half, float direction) {
        for (int i = 0; i < half; i++) {
            float c = cos[i];
            float s = direction * sin[i];
            float x0 = row[offset + 2 * i];
            float x1 = row[offset + 2 * i + 1];
            row[offset + 2 * i] = x0 * c - x1 * s;
            row[offset + 2 * i + 1] = x0 * s + x1 * c;
        }
    }

    private static int queryOffset(AttentionShape s, int batch, int kv, int g, int t) {
        return (((batch * s.kvHeads() + kv) * s.groupSize() + g) * s.seqLen() + t) * s.headSize();
    }

    private static int keyOffset(AttentionShape s, int batch, int kv, int t) {
        return ((batch * s.kvHeads() + kv) * s.seqLen() + t) * s.headSize();
    }

    @Override
    public void splitHeadsBackward(INDArray dq, INDArray dk, INDArray dv, RopeTable rope, AttentionShape shape,
                                   INDArray dQkv) {
        FloatBuffer out = host(dQkv);
        FloatBuffer qBuf = host(dq);
        FloatBuffer kBuf = host(dk);
        FloatBuffer vBuf = host(dv);
        int width = shape.qkvWidth();
        int size = shape.headSize();
        int half = size / 2;
        int seqLen = shape.seqLen();
        FloatBuffer cosBuf = rope == null ? null : host(rope.cos());
        FloatBuffer sinBuf = rope == null ? null : host(rope.sin());
        parallel.run(shape.rows(), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] cos = s.b(half);
            float[] sin = s.c(half);
            for (int n = start; n < end; n++) {
                int batch = n / seqLen;
                int t = n % seqLen;
                for (int kv = 0; kv < shape.kvHeads(); kv++) {
                    for (int g = 0; g < shape.groupSize(); g++) {
                        int head = kv * shape.groupSize() + g;
                        qBuf.get(base(dq) + queryOffset(shape, batch, kv, g, t), row, head * size, size);
                    }
                    kBuf.get(base(dk) + keyOffset(shape, batch, kv, t), row, (shape.heads() + kv) * size, size);
                    vBuf.get(base(dv) + keyOffset(shape, batch, kv, t), row,
                            (shape.heads() + shape.kvHeads() + kv) * size, size);
                }
                if (rope != null) {
                    cosBuf.get(base(rope.cos()) + t * half, cos, 0, half);
                    sinBuf.get(base(rope.sin()) + t * half, sin, 0, half);
                    for (int head = 0; head < shape.heads() + shape.kvHeads(); head++) {
                        rotate(row, head * size, cos, sin, half, -1f);
                    }
                }
                out.put(base(dQkv) + n * width, row, 0, width);
            }
        });
    }

    @Override
    public void mergeHeads(INDArray y, AttentionShape shape, INDArray out) {
        moveHeads(y, shape, out, true);
    }

    @Override
    public void mergeHeadsBackward(INDArray dOut, AttentionShape shape, INDArray dy) {
        moveHeads(dy, shape, dOut, false);
    }

    private void moveHeads(INDArray headMajor, AttentionShape shape, INDArray rowMajor, boolean toRows) {
        FloatBuffer headBuf = host(headMajor);
        FloatBuffer rowBuf = host(rowMajor);
        int size = shape.headSize();
        int width = shape.heads() * size;
        int seqLen = shape.seqLen();
        parallel.run(shape.rows(), width, (chunk, start, end) -> {
            float[] row = scratch.get().a(width);
            for (int n = start; n < end; n++) {
                int batch = n / seqLen;
                int t = n % seqLen;
                if (!toRows) {
                    rowBuf.get(base(rowMajor) + n * width, row, 0, width);
                }
                for (int kv = 0; kv < shape.kvHeads(); kv++) {
                    for (int g = 0; g < shape.groupSize(); g++) {
                        int column = (kv * shape.groupSize() + g) * size;
                        int index = base(headMajor) + queryOffset(shape, batch, kv, g, t);
                        if (toRows) {
                            headBuf.get(index, row, column, size);
                        } else {
                            headBuf.put(index, row, column, size);
                        }
                    }
                }
                if (toRows) {
                    rowBuf.put(base(rowMajor) + n * width, row, 0, width);
                }
            }
        });
    }

    @Override
    public void causalSoftmax(INDArray scores, double scale, AttentionShape shape) {
        FloatBuffer buf = host(scores);
        int seqLen = shape.seqLen();
        int rows = (int) (scores.length() / seqLen);
        float factor = (float) scale;
        parallel.run(rows, seqLen / 2 + 1, (chunk, start, end) -> {
            float[] row = scratch.get().a(seqLen);
            for (int r = start; r < end; r++) {
                int valid = r % seqLen + 1;
                int index = base(scores) + r * seqLen;
                load(buf, index, row, valid, 0f);
                float max = Float.NEGATIVE_INFINITY;
                FloatVector maxAcc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                for (int i = 0; i < valid; i += LANES) {
                    FloatVector x = FloatVector.fromArray(S, row, i).mul(factor);
                    x.intoArray(row, i);
                    maxAcc = maxAcc.lanewise(VectorOperators.MAX, x, tail(i, valid));
                }
                max = maxAcc.reduceLanes(VectorOperators.MAX);
                FloatVector sumAcc = FloatVector.zero(S);
                for (int i = 0; i < valid; i += LANES) {
                    FloatVector e = FloatVector.fromArray(S, row, i).sub(max).lanewise(VectorOperators.EXP);
                    e.intoArray(row, i);
                    sumAcc = sumAcc.add(e, tail(i, valid));
                }
                float inverse = 1f / sumAcc.reduceLanes(VectorOperators.ADD);
                for (int i = 0; i < valid; i += LANES) {
                    FloatVector.fromArray(S, row, i).mul(inverse).intoArray(row, i);
                }
                Arrays.fill(row, valid, seqLen, 0f);
                buf.put(index, row, 0, seqLen);
            }
        });
    }

    @Override
    public void causalSoftmaxBackward(INDArray probs, INDArray dProbs, double scale, AttentionShape shape) {
        FloatBuffer pBuf = host(probs);
        FloatBuffer dBuf = host(dProbs);
        int seqLen = shape.seqLen();
        int rows = (int) (probs.length() / seqLen);
        float factor = (float) scale;
        parallel.run(rows, seqLen / 2 + 1, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] p = s.a(seqLen);
            float[] d = s.b(seqLen);
            for (int r = start; r < end; r++) {
                int valid = r % seqLen + 1;
                load(pBuf, base(probs) + r * seqLen, p, valid, 0f);
                load(dBuf, base(dProbs) + r * seqLen, d, valid, 0f);
                float rowDot = dot(p, d, valid);
                for (int i = 0; i < valid; i += LANES) {
                    FloatVector.fromArray(S, d, i).sub(rowDot).mul(FloatVector.fromArray(S, p, i)).mul(factor)
                            .intoArray(d, i);
                }
                Arrays.fill(d, valid, seqLen, 0f);
                dBuf.put(base(dProbs) + r * seqLen, d, 0, seqLen);
            }
        });
    }

    // ---------------------------------------------------------------- residual and bias

    @Override
    public void addResidual(INDArray residual, INDArray y, INDArray bias, INDArray out) {
        FloatBuffer rBuf = host(residual);
        FloatBuffer yBuf = host(y);
        FloatBuffer outBuf = host(out);
        int width = cols(y);
        float[] b = new float[padded(width)];
        if (bias != null) {
            host(bias).get(base(bias), b, 0, width);
        }
        parallel.run(rows(y), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] r = s.a(width);
            float[] yy = s.b(width);
            for (int n = start; n < end; n++) {
                load(rBuf, base(residual) + n * width, r, width, 0f);
                load(yBuf, base(y) + n * width, yy, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, r, i).add(FloatVector.fromArray(S, yy, i))
                            .add(FloatVector.fromArray(S, b, i)).intoArray(r, i);
                }
                outBuf.put(base(out) + n * width, r, 0, width);
            }
        });
    }

    @Override
    public void biasGradient(INDArray dOut, INDArray dBias) {
        FloatBuffer buf = host(dOut);
        int width = cols(dOut);
        int rows = rows(dOut);
        float[][] partials = new float[parallel.chunks(rows, width)][padded(width)];
        parallel.run(rows, width, (chunk, start, end) -> {
            float[] row = scratch.get().a(width);
            float[] acc = partials[chunk];
            for (int n = start; n < end; n++) {
                load(buf, base(dOut) + n * width, row, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, acc, i).add(FloatVector.fromArray(S, row, i)).intoArray(acc, i);
                }
            }
        });
        addPartials(partials, dBias, width);
    }

    // ---------------------------------------------------------------- log-probs of targets

    @Override
    public void targetLogProbs(INDArray logits, int[] targets, INDArray logProbs, INDArray logSumExp) {
        FloatBuffer buf = host(logits);
        FloatBuffer lpBuf = host(logProbs);
        FloatBuffer lseBuf = host(logSumExp);
        int vocab = cols(logits);
        parallel.run(targets.length, vocab, (chunk, start, end) -> {
            float[] row = scratch.get().a(vocab);
            for (int n = start; n < end; n++) {
                load(buf, base(logits) + n * vocab, row, vocab, 0f);
                float max = max(row, vocab);
                FloatVector acc = FloatVector.zero(S);
                for (int i = 0; i < vocab; i += LANES) {
                    acc = acc.add(FloatVector.fromArray(S, row, i).sub(max).lanewise(VectorOperators.EXP),
                            tail(i, vocab));
                }
                float lse = max + (float) Math.log(acc.reduceLanes(VectorOperators.ADD));
                lseBuf.put(base(logSumExp) + n, lse);
                lpBuf.put(base(logProbs) + n, targets[n] < 0 ? 0f : row[targets[n]] - lse);
            }
        });
    }

    @Override
    public void logitsBackward(INDArray logits, INDArray logSumExp, int[] targets, INDArray dLogProbs,
                               INDArray extraDLogits) {
        FloatBuffer buf = host(logits);
        FloatBuffer lseBuf = host(logSumExp);
        FloatBuffer dlpBuf = host(dLogProbs);
        FloatBuffer extraBuf = extraDLogits == null ? null : host(extraDLogits);
        int vocab = cols(logits);
        parallel.run(targets.length, vocab, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(vocab);
            float[] extra = s.b(vocab);
            for (int n = start; n < end; n++) {
                load(buf, base(logits) + n * vocab, row, vocab, 0f);
                if (extraBuf != null) {
                    load(extraBuf, base(extraDLogits) + n * vocab, extra, vocab, 0f);
                } else {
                    Arrays.fill(extra, 0, padded(vocab), 0f);
                }
                float lse = lseBuf.get(base(logSumExp) + n);
                float grad = targets[n] < 0 ? 0f : dlpBuf.get(base(dLogProbs) + n);
                for (int i = 0; i < vocab; i += LANES) {
                    FloatVector p = FloatVector.fromArray(S, row, i).sub(lse).lanewise(VectorOperators.EXP);
                    p.mul(-grad).add(FloatVector.fromArray(S, extra, i)).intoArray(row, i);
                }
                if (targets[n] >= 0) {
                    row[targets[n]] += grad;
                }
                buf.put(base(logits) + n * vocab, row, 0, vocab);
            }
        });
    }

    // ---------------------------------------------------------------- optimiser

    /** Elements per task of the AdamW pass: large enough to amortise a task, small enough to balance. */
    private static final int ADAM_BLOCK = 1 << 16;

    @Override
    public void adamW(INDArray params, INDArray grads, INDArray m, INDArray v, long decayedLength, AdamStep step) {
        FloatBuffer pBuf = host(params);
        FloatBuffer gBuf = host(grads);
        FloatBuffer mBuf = host(m);
        FloatBuffer vBuf = host(v);
        int length = (int) params.length();
        int blocks = (length + ADAM_BLOCK - 1) / ADAM_BLOCK;
        float lr = (float) step.learningRate();
        float decay = (float) (1 - step.learningRate() * step.weightDecay());
        float scale = (float) step.gradScale();
        float b1 = (float) step.beta1();
        float b2 = (float) step.beta2();
        float eps = (float) step.epsilon();
        float inverseFirst = (float) (1 / step.firstCorrection());
        float inverseSecond = (float) (1 / step.secondCorrection());
        parallel.run(blocks, ADAM_BLOCK, (chunk, startBlock, endBlock) -> {
            Scratch s = scratch.get();
            float[] p = s.a(ADAM_BLOCK);
            float[] g = s.b(ADAM_BLOCK);
            float[] mm = s.c(ADAM_BLOCK);
            float[] vv = s.d(ADAM_BLOCK);
            for (int block = startBlock; block < endBlock; block++) {
                int start = block * ADAM_BLOCK;
                int n = Math.min(ADAM_BLOCK, length - start);
                load(pBuf, base(params) + start, p, n, 0f);
                load(gBuf, base(grads) + start, g, n, 0f);
                load(mBuf, base(m) + start, mm, n, 0f);
                load(vBuf, base(v) + start, vv, n, 0f);
                int decayedEnd = (int) Math.max(0, Math.min(n, decayedLength - start));
                for (int i = 0; i < n; i += LANES) {
                    FloatVector pv = FloatVector.fromArray(S, p, i);
                    if (i < decayedEnd) {
                        pv = pv.mul(decay, S.indexInRange(i, decayedEnd));
                    }
                    FloatVector gv = FloatVector.fromArray(S, g, i).mul(scale);
                    FloatVector first = FloatVector.fromArray(S, mm, i).mul(b1).add(gv.mul(1 - b1));
                    FloatVector second = FloatVector.fromArray(S, vv, i).mul(b2).add(gv.mul(gv).mul(1 - b2));
                    first.intoArray(mm, i);
                    second.intoArray(vv, i);
                    FloatVector update = first.mul(inverseFirst)
                            .div(second.mul(inverseSecond).lanewise(VectorOperators.SQRT).add(eps));
                    pv.sub(update.mul(lr)).intoArray(p, i);
                }
                pBuf.put(base(params) + start, p, 0, n);
                mBuf.put(base(m) + start, mm, 0, n);
                vBuf.put(base(v) + start, vv, 0, n);
            }
        });
    }

    @Override
    public void close() {
        parallel.close();
    }
}
