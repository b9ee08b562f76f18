package io.whetstone.models.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.whetstone.models.kernels.VectorMath;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The sampler's cache attention against plain softmax attention in double precision, over head sizes that take
 * one, two and four vectors at a time and over enough positions for its four-chain score loop, with and without
 * the row's own run of positions.
 */
class CacheAttentionTest {

    @ParameterizedTest
    @CsvSource({"8, 3, 0", "12, 30, 5", "32, 29, 41", "40, 7, 60", "64, 100, 1", "64, 0, 37", "100, 45, 45"})
    void equalsPlainSoftmaxAttention(int headSize, int countA, int countB) {
        Random random = new Random(headSize * 1000L + countA * 10L + countB);
        int stride = VectorMath.padded(headSize);
        Run a = new Run(random, headSize, stride, countA, 3);
        Run b = new Run(random, headSize, stride, countB, 1);
        float[] row = new float[5 + headSize + 2];
        for (int d = 0; d < row.length; d++) {
            row[d] = (float) random.nextGaussian();
        }
        float[] y = new float[headSize + 4];
        int total = Math.max(1, countA + countB);
        new CacheAttention(headSize, total).run(row, 5, a.keys, a.keyBase, a.keyStride, a.values, a.valueBase,
                countA, countB == 0 ? null : b.keys, b.keyBase, b.keyStride, countB == 0 ? null : b.values,
                b.valueBase, countB, y, 2);

        // plain: scores s_j = q . k_j / sqrt(D); p = softmax(s); y = sum_j p_j v_j
        double[] scores = new double[countA + countB];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < scores.length; j++) {
            Run run = j < countA ? a : b;
            int at = j < countA ? j : j - countA;
            double dot = 0;
            for (int d = 0; d < headSize; d++) {
                dot += row[5 + d] * (double) run.key(at, d);
            }
            scores[j] = dot / Math.sqrt(headSize);
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < scores.length; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        for (int d = 0; d < headSize; d++) {
            double expected = 0;
            for (int j = 0; j < scores.length; j++) {
                Run run = j < countA ? a : b;
                int at = j < countA ? j : j - countA;
                expected += scores[j] / sum * run.value(at, d);
            }
            assertEquals(expected, y[2 + d], 1e-5 * Math.max(1, Math.abs(expected)), "element " + d);
        }
        assertEquals(0f, y[0]);
        assertEquals(0f, y[2 + headSize]);
    }

    /** A run of cached positions: keys transposed at an offset, values as padded rows, with room around them. */
    private static final class Run {
        final int headSize;
        final int stride;
        final int keyBase;
        final int keyStride;
        final int valueBase;
        final float[] keys;
        final float[] values;

        Run(Random random, int headSize, int stride, int count, int offset) {
            this.headSize = headSize;
            this.stride = stride;
            keyBase = offset * VectorMath.LANES;
            keyStride = VectorMath.padded(count) + VectorMath.LANES;
            valueBase = offset * stride;
            keys = new float[keyBase + headSize * keyStride + VectorMath.LANES];
            values = new float[valueBase + (count + 1) * stride];
            for (int j = 0; j < count; j++) {
                for (int d = 0; d < headSize; d++) {
                    keys[keyBase + d * keyStride + j] = (float) random.nextGaussian();
                    values[valueBase + j * stride + d] = (float) random.nextGaussian();
                }
            }
        }

        float key(int j, int d) {
            return keys[keyBase + d * keyStride + j];
        }

        float value(int j, int d) {
            return values[valueBase + j * stride + d];
        }
    }
}
