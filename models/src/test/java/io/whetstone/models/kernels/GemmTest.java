package io.whetstone.models.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The direct OpenBLAS product against ND4J's gemm, on the layouts the sampler and views give it. */
class GemmTest {

    private static INDArray random(long seed, long rows, long cols) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, rows, cols).subi(0.5);
    }

    private static void assertSameProduct(INDArray a, INDArray b, INDArray c, boolean ta, boolean tb, double alpha,
                                          double beta, int threads) {
        INDArray expected = c.dup();
        Nd4j.gemm(a, b, expected, ta, tb, alpha, beta);
        Gemm.gemm(a, b, c, ta, tb, alpha, beta, threads);
        float[] e = expected.dup().data().asFloat();
        float[] actual = c.dup().data().asFloat();
        assertEquals(e.length, actual.length);
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], actual[i], 1e-6f * (1 + Math.abs(e[i])), "element " + i + " (ta " + ta + ", tb " + tb
                    + ", alpha " + alpha + ", beta " + beta + ", threads " + threads + ")");
        }
        if (beta == 0 && alpha == 0) {
            assertArrayEquals(new float[e.length], actual);
        }
    }

    @Test
    void everyTransposeAlphaBetaAndThreadCountGivesNd4jsProduct() {
        int m = 37;
        int k = 29;
        int n = 45;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (int threads : new int[] {1, 2, 3}) {
                    INDArray a = ta ? random(1, k, m) : random(1, m, k);
                    INDArray b = tb ? random(2, n, k) : random(2, k, n);
                    assertSameProduct(a, b, random(3, m, n), ta, tb, 1.0, 0.0, threads);
                    assertSameProduct(a, b, random(3, m, n), ta, tb, 0.5, 1.0, threads);
                    assertSameProduct(a, b, random(3, m, n), ta, tb, -2.0, 0.25, threads);
                    assertSameProduct(a, b, random(3, m, n), ta, tb, 0.0, 0.0, threads); // c cleared
                }
            }
        }
    }

    /** Views with offsets and row strides (a weight inside a flat parameter buffer, a column block of an output). */
    @Test
    void viewsWithOffsetsStridesAndTransposesGiveNd4jsProduct() {
        INDArray flat = random(4, 1, 5000);
        INDArray weight = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(113, 113 + 24 * 40)).reshape(24, 40);
        INDArray x = random(5, 64, 24);
        INDArray wide = random(6, 64, 100);
        INDArray block = wide.get(NDArrayIndex.all(), NDArrayIndex.interval(30, 70)); // rows 100 apart
        assertSameProduct(x, weight, block, false, false, 1.0, 0.0, 2);
        assertEquals(0f, wide.getFloat(0, 29) - random(6, 64, 100).getFloat(0, 29), "columns outside stay");
        // a transposed view is column-major: used as an operand with its flag flipped
        INDArray xT = random(7, 24, 64).transpose();
        assertSameProduct(xT, weight, random(8, 64, 40), false, false, 1.0, 0.0, 2);
        assertSameProduct(random(9, 40, 24).transpose(), random(10, 64, 40), random(11, 24, 64), false, true, 1.0,
                0.5, 2);
        // rows of a batch: a row-block view of a larger matrix
        INDArray rows = random(12, 100, 24).get(NDArrayIndex.interval(10, 74), NDArrayIndex.all());
        assertSameProduct(rows, weight, random(13, 64, 40), false, false, 1.0, 0.0, 2);
    }

    @Test
    void oneRowAndOneColumnMatrices() {
        assertSameProduct(random(14, 1, 16), random(15, 16, 8), random(16, 1, 8), false, false, 1.0, 0.0, 2);
        assertSameProduct(random(17, 5, 16), random(18, 16, 1), random(19, 5, 1), false, false, 1.0, 0.0, 2);
        assertSameProduct(random(20, 5, 1), random(21, 1, 7), random(22, 5, 7), false, false, 1.0, 0.0, 2);
    }

    @Test
    void shapesThatDoNotAgreeAreRefusedBeforeAnyNativeCall() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> Gemm.gemm(random(1, 4, 5), random(2, 6, 3), Nd4j.create(DataType.FLOAT, 4, 3), false, false, 1,
                        0, 2));
        assertEquals("gemm shapes do not agree: op(a) 4x5, op(b) 6x3, c 4x3", error.getMessage());
    }
}
