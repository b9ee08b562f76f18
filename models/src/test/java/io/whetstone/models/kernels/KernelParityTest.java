package io.whetstone.models.kernels;

import static io.whetstone.models.Arrays4Test.as;
import static io.whetstone.models.Arrays4Test.gaussian;
import static io.whetstone.models.Arrays4Test.relativeError;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Every fast kernel against its plain twin in {@link ReferenceKernels}: the fused CPU kernels in fp32
 * (with one and two threads), and the ND4J-op kernels in fp32 and fp64. Shapes are chosen so that rows
 * are not whole vectors long (tails), and attention uses grouped queries (G = 2).
 */
class KernelParityTest {

    private static final Kernels REFERENCE = new ReferenceKernels();
    private static final FusedCpuKernels FUSED_1 = new FusedCpuKernels(1);
    /** Two threads, splitting every call, so chunk boundaries and per-chunk partial sums are exercised. */
    private static final FusedCpuKernels FUSED_2 = new FusedCpuKernels(2, 1);

    record Candidate(String name, Kernels kernels, DataType dataType, double tolerance) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> candidates() {
        return Stream.of(
                Arguments.of(new Candidate("fused-fp32-1thread", FUSED_1, DataType.FLOAT, 2e-5)),
                Arguments.of(new Candidate("fused-fp32-2threads", FUSED_2, DataType.FLOAT, 2e-5)),
                Arguments.of(new Candidate("nd4j-fp32", new Nd4jKernels(), DataType.FLOAT, 2e-5)),
                Arguments.of(new Candidate("nd4j-fp64", new Nd4jKernels(), DataType.DOUBLE, 1e-12)));
    }

    @AfterAll
    static void close() {
        FUSED_1.close();
        FUSED_2.close();
    }

    /**
     * Runs {@code body} with reference arrays (fp64) and candidate arrays (copies in the candidate's
     * type) and compares every array afterwards: inputs that are written or accumulated into are
     * compared too.
     */
    private static void compare(Candidate candidate, List<INDArray> arrays, BiConsumer<Kernels, List<INDArray>> body) {
        assumeTrue(!(candidate.kernels() instanceof FusedCpuKernels) || KernelChoice.cpuBackend(),
                "the fused kernels read host memory: CPU backend only");
        List<INDArray> expected = new ArrayList<>();
        List<INDArray> actual = new ArrayList<>();
        for (INDArray array : arrays) {
            expected.add(as(array, DataType.DOUBLE));
            actual.add(as(array, candidate.dataType()));
        }
        body.accept(REFERENCE, expected);
        body.accept(candidate.kernels(), actual);
        for (int i = 0; i < arrays.size(); i++) {
            double error = relativeError(expected.get(i), actual.get(i));
            assertTrue(error <= candidate.tolerance(),
                    candidate + ": array " + i + " differs from the reference by " + error);
        }
    }

    private static List<INDArray> arrays(Random random, long[]... shapes) {
        List<INDArray> list = new ArrayList<>();
        for (long[] shape : shapes) {
            list.add(gaussian(random, DataType.DOUBLE, 1.0, shape));
        }
        return list;
    }

    private static long[] s(long... shape) {
        return shape;
    }

    private static final int N = 14;
    private static final int C = 37;

    @ParameterizedTest
    @MethodSource("candidates")
    void embedding(Candidate candidate) {
        int[] tokens = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7};
        Random random = new Random(1);
        compare(candidate, arrays(random, s(10, C), s(9, C), s(N, C)),
                (k, a) -> k.embed(tokens, a.get(0), a.get(1), 7, a.get(2)));
        compare(candidate, arrays(random, s(10, C), s(N, C)),
                (k, a) -> k.embed(tokens, a.get(0), null, 7, a.get(1)));
        compare(candidate, arrays(random, s(N, C), s(10, C), s(9, C)),
                (k, a) -> k.embedBackward(tokens, a.get(0), a.get(1), a.get(2), 7));
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void layerNorm(Candidate candidate) {
        Random random = new Random(2);
        compare(candidate, arrays(random, s(N, C), s(C), s(C), s(N, C), s(N), s(N)),
                (k, a) -> k.layerNorm(a.get(0), a.get(1), a.get(2), 1e-5, a.get(3), a.get(4), a.get(5)));
        List<INDArray> inputs = arrays(random, s(N, C), s(N, C), s(C), s(N, C), s(C), s(C));
        INDArray x = inputs.get(1);
        INDArray mean = x.mean(1);
        INDArray rstd = Transforms.pow(x.var(false, 1).addi(1e-5), -0.5, false);
        inputs.add(mean);
        inputs.add(rstd);
        compare(candidate, inputs, (k, a) -> k.layerNormBackward(a.get(0), a.get(1), a.get(2), a.get(6), a.get(7),
                a.get(3), a.get(4), a.get(5)));
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void rmsNorm(Candidate candidate) {
        Random random = new Random(3);
        compare(candidate, arrays(random, s(N, C), s(C), s(N, C), s(N)),
                (k, a) -> k.rmsNorm(a.get(0), a.get(1), 1e-5, a.get(2), a.get(3)));
        List<INDArray> inputs = arrays(random, s(N, C), s(N, C), s(C), s(N, C), s(C));
        INDArray x = inputs.get(1);
        inputs.add(Transforms.pow(x.mul(x).mean(1).addi(1e-5), -0.5, false));
        compare(candidate, inputs,
                (k, a) -> k.rmsNormBackward(a.get(0), a.get(1), a.get(2), a.get(5), a.get(3), a.get(4)));
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void gelu(Candidate candidate) {
        Random random = new Random(4);
        List<INDArray> inputs = arrays(random, s(N, C), s(C), s(N, C));
        inputs.get(0).muli(3); // reach the saturated ends of tanh
        compare(candidate, inputs, (k, a) -> k.biasGelu(a.get(0), a.get(1), a.get(2)));
        compare(candidate, arrays(random, s(N, C), s(N, C)), (k, a) -> k.biasGelu(a.get(0), null, a.get(1)));
        List<INDArray> training = arrays(random, s(N, C), s(C), s(N, C));
        training.get(0).muli(3);
        compare(candidate, training, (k, a) -> k.biasGeluWithDerivative(a.get(0), a.get(1), a.get(2)));
        compare(candidate, arrays(random, s(N, C), s(N, C)), (k, a) -> k.biasGeluWithDerivative(a.get(0), null, a.get(1)));
        compare(candidate, arrays(random, s(N, C), s(N, C), s(N, C), s(C)),
                (k, a) -> k.geluBackward(a.get(0), a.get(1), a.get(2), a.get(3)));
        compare(candidate, arrays(random, s(N, C), s(N, C)),
                (k, a) -> k.geluBackward(a.get(0), a.get(1), a.get(0), null));
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void gatedActivations(Candidate candidate) {
        Random random = new Random(5);
        compare(candidate, arrays(random, s(N, 2 * C), s(N, C)), (k, a) -> k.swiglu(a.get(0), a.get(1)));
        compare(candidate, arrays(random, s(N, C), s(N, 2 * C), s(N, 2 * C)),
                (k, a) -> k.swigluBackward(a.get(0), a.get(1), a.get(2)));
        compare(candidate, arrays(random, s(N, 2 * C), s(N, C)), (k, a) -> k.geglu(a.get(0), a.get(1)));
        compare(candidate, arrays(random, s(N, C), s(N, 2 * C), s(N, 2 * C)),
                (k, a) -> k.gegluBackward(a.get(0), a.get(1), a.get(2)));
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void attentionLayout(Candidate candidate) {
        AttentionShape shape = new AttentionShape(2, 5, 4, 2, 6);
        RopeTable rope = RopeTable.create(8, 6, 10000.0, candidate.dataType());
        RopeTable referenceRope = RopeTable.create(8, 6, 10000.0, DataType.DOUBLE);
        Random random = new Random(6);
        long[] q = s(2, 2, 2, 5, 6);
        long[] kv = s(2, 2, 5, 6);
        for (boolean withRope : new boolean[] {false, true}) {
            compare(candidate, arrays(random, s(10, shape.qkvWidth()), s(shape.qkvWidth()), q, kv, kv),
                    (k, a) -> k.splitHeads(a.get(0), a.get(1), withRope ? ropeFor(k, rope, referenceRope) : null,
                            shape, a.get(2), a.get(3), a.get(4)));
            compare(candidate, arrays(random, q, kv, kv, s(10, shape.qkvWidth())),
                    (k, a) -> k.splitHeadsBackward(a.get(0), a.get(1), a.get(2),
                            withRope ? ropeFor(k, rope, referenceRope) : null, shape, a.get(3)));
        }
        compare(candidate, arrays(random, q, s(10, 24)), (k, a) -> k.mergeHeads(a.get(0), shape, a.get(1)));
        compare(candidate, arrays(random, s(10, 24), q), (k, a) -> k.mergeHeadsBackward(a.get(0), shape, a.get(1)));
    }

    private static RopeTable ropeFor(Kernels kernels, RopeTable candidate, RopeTable reference) {
        return kernels == REFERENCE ? reference : candidate;
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void attention(Candidate candidate) {
        // G = 2, T = 19 and D = 12 are not whole vectors; D = 8 is below the vector width.
        for (int size : new int[] {12, 8}) {
            AttentionShape shape = new AttentionShape(2, 19, 4, 2, size);
            Random random = new Random(7);
            long[] q = s(4, 38, size);
            long[] kv = s(4, 19, size);
            long[] probs = s(4, 38, 19);
            compare(candidate, arrays(random, q, kv, kv, probs, q),
                    (k, a) -> k.attention(a.get(0), a.get(1), a.get(2), 0.35, shape, a.get(3), a.get(4)));
            List<INDArray> inputs = arrays(random, q, kv, kv, probs, q, q, kv, kv);
            REFERENCE.attention(inputs.get(0), inputs.get(1), inputs.get(2), 0.35, shape, inputs.get(3),
                    gaussian(random, DataType.DOUBLE, 1.0, q));
            compare(candidate, inputs, (k, a) -> k.attentionBackward(a.get(0), a.get(1), a.get(2), a.get(3), a.get(4),
                    0.35, shape, a.get(5), a.get(6), a.get(7)));
        }
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void residualAndBias(Candidate candidate) {
        Random random = new Random(8);
        compare(candidate, arrays(random, s(N, C), s(N, C), s(C), s(N, C)),
                (k, a) -> k.addResidual(a.get(0), a.get(1), a.get(2), a.get(3)));
        compare(candidate, arrays(random, s(N, C), s(N, C)), (k, a) -> k.addResidual(a.get(0), a.get(1), null, a.get(0)));
        compare(candidate, arrays(random, s(N, C), s(C)), (k, a) -> k.biasGradient(a.get(0), a.get(1)));
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void logProbs(Candidate candidate) {
        Random random = new Random(9);
        int vocab = 53;
        int[] targets = {0, 52, 7, -1, 3, 3, 9, 51, -1, 12, 40, 1, 2, 30};
        List<INDArray> inputs = arrays(random, s(N, vocab), s(N), s(N));
        inputs.get(0).muli(4);
        compare(candidate, inputs, (k, a) -> k.targetLogProbs(a.get(0), targets, a.get(1), a.get(2)));
        for (boolean extra : new boolean[] {false, true}) {
            List<INDArray> back = arrays(random, s(N, vocab), s(N), s(N), s(N, vocab));
            INDArray logits = back.get(0);
            INDArray max = logits.max(1);
            INDArray sums = Transforms.exp(logits.subColumnVector(max.reshape(N, 1)), true)
                    .sum(1);
            back.set(1, Transforms.log(sums, true).addi(max));
            compare(candidate, back, (k, a) -> k.logitsBackward(a.get(0), a.get(1), targets, a.get(2),
                    extra ? a.get(3) : null));
        }
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void adamW(Candidate candidate) {
        Random random = new Random(10);
        int length = 70_001; // more than one block of the fused pass, and not a whole number of vectors
        List<INDArray> state = arrays(random, s(length), s(length), s(length), s(length));
        state.get(3).assign(Transforms.abs(state.get(3), true)); // second moments are non-negative
        AdamStep step = new AdamStep(3e-3, 0.9, 0.95, 1e-8, 0.1, 7, 0.5);
        compare(candidate, state, (k, a) -> k.adamW(a.get(0), a.get(1), a.get(2), a.get(3), 65_537, step));
    }

    @ParameterizedTest
    @MethodSource("candidates")
    void sumOfSquares(Candidate candidate) {
        INDArray vector = gaussian(new Random(12), DataType.DOUBLE, 1.0, 50_001);
        double expected = REFERENCE.sumOfSquares(vector);
        double actual = candidate.kernels().sumOfSquares(as(vector, candidate.dataType()));
        assertTrue(Math.abs(actual - expected) <= candidate.tolerance() * expected, candidate + ": " + actual
                + " vs " + expected);
    }

    /** The fused kernels' own exp (IEEE-exact operations only) is within a few ulp of Math.exp. */
    @org.junit.jupiter.api.Test
    void fusedExpIsAccurateEverywhere() {
        int lanes = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        float[] x = new float[lanes];
        float[] y = new float[lanes];
        double worst = 0;
        for (int k = -9000; k <= 9000; k += lanes) {
            for (int i = 0; i < lanes; i++) {
                x[i] = (k + i) / 100f + 0.00371f;
            }
            FusedCpuKernels.exp(jdk.incubator.vector.FloatVector.fromArray(
                    jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, x, 0)).intoArray(y, 0);
            for (int i = 0; i < lanes; i++) {
                double expected = Math.exp(x[i]);
                if (x[i] < -87.3366f) {
                    assertTrue(y[i] == 0f, "exp(" + x[i] + ") should flush to 0, got " + y[i]);
                } else if (x[i] < 88.37f) {
                    worst = Math.max(worst, Math.abs(y[i] - expected) / expected);
                }
            }
        }
        assertTrue(worst < 5e-7, "max relative error " + worst);
    }
}
