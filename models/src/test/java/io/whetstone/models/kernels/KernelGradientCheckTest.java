package io.whetstone.models.kernels;

import static io.whetstone.models.Arrays4Test.gaussian;
import static io.whetstone.models.GradientCheck.dot;
import static io.whetstone.models.GradientCheck.maxRelativeError;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Finite-difference checks, in double, of every kernel's backward against its forward: the loss is a
 * random linear functional of the forward's output, so its gradient is the backward applied to those
 * random weights. Runs for the reference kernels and the ND4J-op kernels; the fused fp32 kernels are
 * tied to the reference by {@link KernelParityTest}.
 */
class KernelGradientCheckTest {

    private static final double TOLERANCE = 1e-6;
    private static final DataType D = DataType.DOUBLE;

    static Stream<Kernels> kernels() {
        return Stream.of(new ReferenceKernels(), new Nd4jKernels());
    }

    private static INDArray random(Random random, long... shape) {
        return gaussian(random, D, 1.0, shape);
    }

    private static void check(String what, INDArray parameter, INDArray analytic, DoubleSupplier loss) {
        double error = maxRelativeError(parameter, analytic, loss, 400);
        assertTrue(error < TOLERANCE, what + ": max relative error " + error);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void embedding(Kernels k) {
        Random r = new Random(11);
        int[] tokens = {2, 0, 2, 4, 1, 2};
        INDArray table = random(r, 5, 7);
        INDArray positions = random(r, 4, 7);
        INDArray weights = random(r, 6, 7);
        DoubleSupplier loss = () -> {
            INDArray out = Nd4j.zeros(D, 6, 7);
            k.embed(tokens, table, positions, 3, out);
            return dot(weights, out);
        };
        INDArray dTable = Nd4j.zeros(D, 5, 7);
        INDArray dPositions = Nd4j.zeros(D, 4, 7);
        k.embedBackward(tokens, weights, dTable, dPositions, 3);
        check("table", table, dTable, loss);
        check("positions", positions, dPositions, loss);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void layerNorm(Kernels k) {
        Random r = new Random(12);
        INDArray x = random(r, 4, 9);
        INDArray gamma = random(r, 9);
        INDArray beta = random(r, 9);
        INDArray weights = random(r, 4, 9);
        INDArray mean = Nd4j.zeros(D, 4);
        INDArray rstd = Nd4j.zeros(D, 4);
        DoubleSupplier loss = () -> {
            INDArray out = Nd4j.zeros(D, 4, 9);
            k.layerNorm(x, gamma, beta, 1e-5, out, Nd4j.zeros(D, 4), Nd4j.zeros(D, 4));
            return dot(weights, out);
        };
        k.layerNorm(x, gamma, beta, 1e-5, Nd4j.zeros(D, 4, 9), mean, rstd);
        INDArray dx = Nd4j.zeros(D, 4, 9);
        INDArray dGamma = Nd4j.zeros(D, 9);
        INDArray dBeta = Nd4j.zeros(D, 9);
        k.layerNormBackward(weights, x, gamma, mean, rstd, dx, dGamma, dBeta);
        check("x", x, dx, loss);
        check("gamma", gamma, dGamma, loss);
        check("beta", beta, dBeta, loss);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void rmsNorm(Kernels k) {
        Random r = new Random(13);
        INDArray x = random(r, 4, 10);
        INDArray weight = random(r, 10);
        INDArray weights = random(r, 4, 10);
        INDArray rstd = Nd4j.zeros(D, 4);
        DoubleSupplier loss = () -> {
            INDArray out = Nd4j.zeros(D, 4, 10);
            k.rmsNorm(x, weight, 1e-5, out, Nd4j.zeros(D, 4));
            return dot(weights, out);
        };
        k.rmsNorm(x, weight, 1e-5, Nd4j.zeros(D, 4, 10), rstd);
        INDArray dx = Nd4j.zeros(D, 4, 10);
        INDArray dWeight = Nd4j.zeros(D, 10);
        k.rmsNormBackward(weights, x, weight, rstd, dx, dWeight);
        check("x", x, dx, loss);
        check("weight", weight, dWeight, loss);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void geluWithBias(Kernels k) {
        Random r = new Random(14);
        INDArray x = random(r, 3, 8).muli(2);
        INDArray bias = random(r, 8);
        INDArray weights = random(r, 3, 8);
        DoubleSupplier loss = () -> {
            INDArray pre = x.dup();
            INDArray out = Nd4j.zeros(D, 3, 8);
            k.biasGeluWithDerivative(pre, bias, out);
            return dot(weights, out);
        };
        INDArray derivative = x.dup();
        k.biasGeluWithDerivative(derivative, bias, Nd4j.zeros(D, 3, 8));
        INDArray dPre = Nd4j.zeros(D, 3, 8);
        INDArray dBias = Nd4j.zeros(D, 8);
        k.geluBackward(weights, derivative, dPre, dBias);
        check("x", x, dPre, loss);
        check("bias", bias, dBias, loss);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void swiglu(Kernels k) {
        checkGated(k::swiglu, k::swigluBackward, new Random(15));
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void geglu(Kernels k) {
        checkGated(k::geglu, k::gegluBackward, new Random(16));
    }

    /** A gated MLP activation (gateUp [3, 12] to out [3, 6]) against finite differences. */
    private static void checkGated(java.util.function.BiConsumer<INDArray, INDArray> forward,
                                   TriConsumer backward, Random r) {
        INDArray gateUp = random(r, 3, 12).muli(2);
        INDArray weights = random(r, 3, 6);
        DoubleSupplier loss = () -> {
            INDArray out = Nd4j.zeros(D, 3, 6);
            forward.accept(gateUp, out);
            return dot(weights, out);
        };
        INDArray dGateUp = Nd4j.zeros(D, 3, 12);
        backward.accept(weights, gateUp, dGateUp);
        check("gate/up", gateUp, dGateUp, loss);
    }

    /** A kernel's backward (dOut, input, dInput). */
    @FunctionalInterface
    private interface TriConsumer {
        void accept(INDArray a, INDArray b, INDArray c);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void splitHeadsWithRopeAndGroupedQueries(Kernels k) {
        AttentionShape shape = new AttentionShape(2, 3, 4, 2, 4);
        RopeTable rope = RopeTable.create(5, 4, 10000.0, D);
        Random r = new Random(16);
        INDArray qkv = random(r, 6, shape.qkvWidth());
        INDArray bias = random(r, shape.qkvWidth());
        INDArray wq = random(r, 2, 2, 2, 3, 4);
        INDArray wk = random(r, 2, 2, 3, 4);
        INDArray wv = random(r, 2, 2, 3, 4);
        DoubleSupplier loss = () -> {
            INDArray q = Nd4j.zeros(D, 2, 2, 2, 3, 4);
            INDArray kk = Nd4j.zeros(D, 2, 2, 3, 4);
            INDArray v = Nd4j.zeros(D, 2, 2, 3, 4);
            k.splitHeads(qkv, bias, rope, shape, q, kk, v);
            return dot(wq, q) + dot(wk, kk) + dot(wv, v);
        };
        INDArray dQkv = Nd4j.zeros(D, 6, shape.qkvWidth());
        k.splitHeadsBackward(wq, wk, wv, rope, shape, dQkv);
        INDArray dBias = Nd4j.zeros(D, shape.qkvWidth());
        k.biasGradient(dQkv, dBias);
        check("qkv", qkv, dQkv, loss);
        check("bias", bias, dBias, loss);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void mergeHeads(Kernels k) {
        AttentionShape shape = new AttentionShape(2, 3, 4, 2, 2);
        Random r = new Random(17);
        INDArray y = random(r, 2, 2, 2, 3, 2);
        INDArray weights = random(r, 6, 8);
        DoubleSupplier loss = () -> {
            INDArray out = Nd4j.zeros(D, 6, 8);
            k.mergeHeads(y, shape, out);
            return dot(weights, out);
        };
        INDArray dy = Nd4j.zeros(D, 2, 2, 2, 3, 2);
        k.mergeHeadsBackward(weights, shape, dy);
        check("y", y, dy, loss);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void causalAttentionWithGroupedQueries(Kernels k) {
        AttentionShape shape = new AttentionShape(2, 5, 4, 2, 3);
        Random r = new Random(18);
        INDArray q = random(r, 4, 10, 3);
        INDArray keys = random(r, 4, 5, 3);
        INDArray values = random(r, 4, 5, 3);
        INDArray weights = random(r, 4, 10, 3);
        DoubleSupplier loss = () -> {
            INDArray y = Nd4j.zeros(D, 4, 10, 3);
            k.attention(q, keys, values, 0.7, shape, Nd4j.zeros(D, 4, 10, 5), y);
            return dot(weights, y);
        };
        INDArray probs = Nd4j.zeros(D, 4, 10, 5);
        k.attention(q, keys, values, 0.7, shape, probs, Nd4j.zeros(D, 4, 10, 3));
        INDArray dq = Nd4j.zeros(D, 4, 10, 3);
        INDArray dk = Nd4j.zeros(D, 4, 5, 3);
        INDArray dv = Nd4j.zeros(D, 4, 5, 3);
        k.attentionBackward(q, keys, values, probs, weights, 0.7, shape, dq, dk, dv);
        check("q", q, dq, loss);
        check("k", keys, dk, loss);
        check("v", values, dv, loss);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void attentionIsCausal(Kernels k) {
        // Changing key/value j leaves outputs of rows before position j unchanged.
        AttentionShape shape = new AttentionShape(1, 6, 2, 1, 4);
        Random r = new Random(21);
        INDArray q = random(r, 1, 12, 4);
        INDArray keys = random(r, 1, 6, 4);
        INDArray values = random(r, 1, 6, 4);
        INDArray before = Nd4j.zeros(D, 1, 12, 4);
        k.attention(q, keys, values, 0.5, shape, Nd4j.zeros(D, 1, 12, 6), before);
        keys.putScalar(new long[] {0, 4, 1}, 9.0);
        values.putScalar(new long[] {0, 4, 2}, -9.0);
        INDArray after = Nd4j.zeros(D, 1, 12, 4);
        k.attention(q, keys, values, 0.5, shape, Nd4j.zeros(D, 1, 12, 6), after);
        for (int g = 0; g < 2; g++) {
            for (int t = 0; t < 6; t++) {
                boolean same = before.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                        org.nd4j.linalg.indexing.NDArrayIndex.point(g * 6 + t)).equals(
                        after.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                                org.nd4j.linalg.indexing.NDArrayIndex.point(g * 6 + t)));
                assertTrue(same == (t < 4), "row " + (g * 6 + t) + " changed: " + !same);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void residualWithBias(Kernels k) {
        Random r = new Random(19);
        INDArray residual = random(r, 3, 5);
        INDArray y = random(r, 3, 5);
        INDArray bias = random(r, 5);
        INDArray weights = random(r, 3, 5);
        DoubleSupplier loss = () -> {
            INDArray out = Nd4j.zeros(D, 3, 5);
            k.addResidual(residual, y, bias, out);
            return dot(weights, out);
        };
        INDArray dBias = Nd4j.zeros(D, 5);
        k.biasGradient(weights, dBias);
        check("residual", residual, weights, loss);
        check("y", y, weights, loss);
        check("bias", bias, dBias, loss);
    }

    @ParameterizedTest
    @MethodSource("kernels")
    void targetLogProbs(Kernels k) {
        Random r = new Random(20);
        int[] targets = {3, -1, 0, 6};
        INDArray logits = random(r, 4, 7).muli(3);
        INDArray dLogProbs = random(r, 4);
        INDArray extra = random(r, 4, 7);
        DoubleSupplier loss = () -> {
            INDArray logProbs = Nd4j.zeros(D, 4);
            k.targetLogProbs(logits, targets, logProbs, Nd4j.zeros(D, 4));
            return dot(dLogProbs, logProbs) + dot(extra, logits);
        };
        INDArray lse = Nd4j.zeros(D, 4);
        k.targetLogProbs(logits, targets, Nd4j.zeros(D, 4), lse);
        INDArray dLogits = logits.dup();
        k.logitsBackward(dLogits, lse, targets, dLogProbs, extra);
        check("logits", logits, dLogits, loss);
    }
}
