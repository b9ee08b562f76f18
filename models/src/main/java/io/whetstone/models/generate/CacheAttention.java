package io.whetstone.models.generate;

import io.whetstone.models.kernels.VectorMath;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Softmax attention of one query over two runs of cached keys and values (a shared prompt's, then a row's
 * own). Keys are transposed ([Dp][stride]: a position's scores for {@code LANES} positions at a time are
 * multiply-adds of one query element into a vector, no reductions); values are rows of the padded head size.
 */
final class CacheAttention {
    private final int size; // D, the head size
    private final int stride; // D padded to whole vectors
    private final float scale;
    private final float[] query;
    private final float[] scores; // [keys, padded]: scores, then probabilities
    private final float[] out;

    /** For heads of {@code headSize} over at most {@code maxKeys} cached positions in all. */
    CacheAttention(int headSize, int maxKeys) {
        size = headSize;
        stride = VectorMath.padded(headSize);
        scale = (float) (1.0 / Math.sqrt(headSize));
        query = new float[stride];
        out = new float[stride];
        scores = new float[VectorMath.padded(maxKeys) + 2 * VectorMath.LANES];
    }

    /**
     * y[yOffset, yOffset + D) = softmax(scale q K^T) V for the query q = row[queryOffset, queryOffset + D) over
     * countA positions of run A, then countB of run B (countB may be 0, its arrays null). A run's key of position
     * j, element d, is keys[keyBase + d * keyStride + j] (readable up to the next whole vector of positions); its
     * value is values[valueBase + j * stride + d], stride = D padded to whole vectors.
     */
    void run(float[] row, int queryOffset, float[] keysA, int keyBaseA, int keyStrideA, float[] valuesA,
             int valueBaseA, int countA, float[] keysB, int keyBaseB, int keyStrideB, float[] valuesB,
             int valueBaseB, int countB, float[] y, int yOffset) {
        System.arraycopy(row, queryOffset, query, 0, size);
        scoresOf(keysA, keyBaseA, keyStrideA, countA, 0);
        if (countB > 0) {
            scoresOf(keysB, keyBaseB, keyStrideB, countB, countA);
        }
        int count = countA + countB;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < count; j++) {
            max = Math.max(max, scores[j]);
        }
        int padded = VectorMath.padded(count);
        Arrays.fill(scores, count, padded, Float.NEGATIVE_INFINITY);
        FloatVector sumAcc = FloatVector.zero(VectorMath.SPECIES);
        for (int j = 0; j < padded; j += VectorMath.LANES) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(VectorMath.SPECIES, scores, j).sub(max));
            e.intoArray(scores, j);
            sumAcc = sumAcc.add(e);
        }
        float inverse = 1f / VectorMath.addLanes(sumAcc);
        for (int j = 0; j < count; j++) {
            scores[j] *= inverse;
        }
        int lanes = VectorMath.LANES;
        int d = 0;
        for (; d + 4 * lanes <= stride; d += 4 * lanes) {
            weightedValues4(valuesA, valueBaseA + d, countA, valuesB, valueBaseB + d, countB, d);
        }
        for (; d + 2 * lanes <= stride; d += 2 * lanes) {
            weightedValues2(valuesA, valueBaseA + d, countA, valuesB, valueBaseB + d, countB, d);
        }
        for (; d < stride; d += lanes) {
            weightedValues1(valuesA, valueBaseA + d, countA, valuesB, valueBaseB + d, countB, d);
        }
        System.arraycopy(out, 0, y, yOffset, size);
    }

    /**
     * out[d, d + 4 LANES) = sum over j of p_j v_j[d, d + 4 LANES) (p_j = scores[j], keys j < countA in valuesA,
     * the rest in valuesB), the accumulators in registers. Each lane adds its terms in j order with fma, as a
     * loop through {@code out} one key at a time did, so the result is the same to the bit; that loop waited on
     * a store and a load per key. The two runs' loops are written out: one loop over both runs, choosing each
     * run's array and offsets, gave the same samples but 11-26% fewer tokens per second (`BenchMain A gpt2 2
     * generate 16`, three interleaved pairs), here and in the two narrower versions below.
     */
    private void weightedValues4(float[] valuesA, int atA, int countA, float[] valuesB, int atB, int countB,
                                 int d) {
        int lanes = VectorMath.LANES;
        FloatVector acc0 = FloatVector.zero(VectorMath.SPECIES);
        FloatVector acc1 = FloatVector.zero(VectorMath.SPECIES);
        FloatVector acc2 = FloatVector.zero(VectorMath.SPECIES);
        FloatVector acc3 = FloatVector.zero(VectorMath.SPECIES);
        for (int j = 0; j < countA; j++) {
            FloatVector p = FloatVector.broadcast(VectorMath.SPECIES, scores[j]);
            int at = atA + j * stride;
            acc0 = FloatVector.fromArray(VectorMath.SPECIES, valuesA, at).fma(p, acc0);
            acc1 = FloatVector.fromArray(VectorMath.SPECIES, valuesA, at + lanes).fma(p, acc1);
            acc2 = FloatVector.fromArray(VectorMath.SPECIES, valuesA, at + 2 * lanes).fma(p, acc2);
            acc3 = FloatVector.fromArray(VectorMath.SPECIES, valuesA, at + 3 * lanes).fma(p, acc3);
        }
        for (int j = 0; j < countB; j++) {
            FloatVector p = FloatVector.broadcast(VectorMath.SPECIES, scores[countA + j]);
            int at = atB + j * stride;
            acc0 = FloatVector.fromArray(VectorMath.SPECIES, valuesB, at).fma(p, acc0);
            acc1 = FloatVector.fromArray(VectorMath.SPECIES, valuesB, at + lanes).fma(p, acc1);
            acc2 = FloatVector.fromArray(VectorMath.SPECIES, valuesB, at + 2 * lanes).fma(p, acc2);
            acc3 = FloatVector.fromArray(VectorMath.SPECIES, valuesB, at + 3 * lanes).fma(p, acc3);
        }
        acc0.intoArray(out, d);
        acc1.intoArray(out, d + lanes);
        acc2.intoArray(out, d + 2 * lanes);
        acc3.intoArray(out, d + 3 * lanes);
    }

    /** As {@link #weightedValues4} for two vectors of out. */
    private void weightedValues2(float[] valuesA, int atA, int countA, float[] valuesB, int atB,
                                 int countB, int d) {
        int lanes = VectorMath.LANES;
        FloatVector acc0 = FloatVector.zero(VectorMath.SPECIES);
        FloatVector acc1 = FloatVector.zero(VectorMath.SPECIES);
        for (int j = 0; j < countA; j++) {
            FloatVector p = FloatVector.broadcast(VectorMath.SPECIES, scores[j]);
            int at = atA + j * stride;
            acc0 = FloatVector.fromArray(VectorMath.SPECIES, valuesA, at).fma(p, acc0);
            acc1 = FloatVector.fromArray(VectorMath.SPECIES, valuesA, at + lanes).fma(p, acc1);
        }
        for (int j = 0; j < countB; j++) {
            FloatVector p = FloatVector.broadcast(VectorMath.SPECIES, scores[countA + j]);
            int at = atB + j * stride;
            acc0 = FloatVector.fromArray(VectorMath.SPECIES, valuesB, at).fma(p, acc0);
            acc1 = FloatVector.fromArray(VectorMath.SPECIES, valuesB, at + lanes).fma(p, acc1);
        }
        acc0.intoArray(out, d);
        acc1.intoArray(out, d + lanes);
    }

    /** As {@link #weightedValues2} for one vector of out. */
    private void weightedValues1(float[] valuesA, int atA, int countA, float[] valuesB, int atB,
                                 int countB, int d) {
        FloatVector acc = FloatVector.zero(VectorMath.SPECIES);
        for (int j = 0; j < countA; j++) {
            acc = FloatVector.fromArray(VectorMath.SPECIES, valuesA, atA + j * stride)
                    .fma(FloatVector.broadcast(VectorMath.SPECIES, scores[j]), acc);
        }
        for (int j = 0; j < countB; j++) {
            acc = FloatVector.fromArray(VectorMath.SPECIES, valuesB, atB + j * stride)
                    .fma(FloatVector.broadcast(VectorMath.SPECIES, scores[countA + j]), acc);
        }
        acc.intoArray(out, d);
    }

    /** scores[into + j] = scale * query . key j for j < count (and garbage up to the next whole vector). */
    private void scoresOf(float[] keys, int base, int keyStride, int count, int into) {
        int lanes = VectorMath.LANES;
        int j = 0;
        // Four runs of positions at once: four independent fma chains where one waited on each fma's latency.
        // Each lane's chain (over d, in order) is the same as below, so are the scores.
        for (; j + 3 * lanes < count; j += 4 * lanes) {
            FloatVector acc0 = FloatVector.zero(VectorMath.SPECIES);
            FloatVector acc1 = FloatVector.zero(VectorMath.SPECIES);
            FloatVector acc2 = FloatVector.zero(VectorMath.SPECIES);
            FloatVector acc3 = FloatVector.zero(VectorMath.SPECIES);
            for (int d = 0; d < size; d++) {
                FloatVector q = FloatVector.broadcast(VectorMath.SPECIES, query[d]);
                int at = base + d * keyStride + j;
                acc0 = FloatVector.fromArray(VectorMath.SPECIES, keys, at).fma(q, acc0);
                acc1 = FloatVector.fromArray(VectorMath.SPECIES, keys, at + lanes).fma(q, acc1);
                acc2 = FloatVector.fromArray(VectorMath.SPECIES, keys, at + 2 * lanes).fma(q, acc2);
                acc3 = FloatVector.fromArray(VectorMath.SPECIES, keys, at + 3 * lanes).fma(q, acc3);
            }
            acc0.mul(scale).intoArray(scores, into + j);
            acc1.mul(scale).intoArray(scores, into + j + lanes);
            acc2.mul(scale).intoArray(scores, into + j + 2 * lanes);
            acc3.mul(scale).intoArray(scores, into + j + 3 * lanes);
        }
        for (; j < count; j += VectorMath.LANES) {
            FloatVector acc = FloatVector.zero(VectorMath.SPECIES);
            for (int d = 0; d < size; d++) {
                acc = FloatVector.fromArray(VectorMath.SPECIES, keys, base + d * keyStride + j)
                        .fma(FloatVector.broadcast(VectorMath.SPECIES, query[d]), acc);
            }
            acc.mul(scale).intoArray(scores, into + j);
        }
    }
}
