package io.whetstone.jobs.engine;

import java.io.Serializable;

/**
 * The running weighted sum of partition results, merged by Spark's treeAggregate in whatever order
 * tasks finish. Sums are kept in double: each term is a float times an integer token count below 2^24,
 * exact in double, and the partitions' values share their magnitude, so the sum does not depend on the
 * merge order in practice; this keeps a retried or resumed round bit-identical.
 */
final class RoundSum implements Serializable {

    private static final long serialVersionUID = 3L;

    double[] params;
    double[][] optimizerState;
    double weight;
    double lossSum;
    double tokens;
    long rows;
    double trainedTokens;
    java.util.TreeMap<String, Double> metrics = new java.util.TreeMap<>();
    long maxComputeNanos;
    long totalComputeNanos;
    int partitions;
    long steps;
    double gradNormSum;

    RoundSum add(PartitionResult result) {
        if (result.params() == null) {
            return this; // no rows for this round
        }
        if (params == null) {
            params = new double[result.params().length];
            optimizerState = new double[result.optimizerState().length][result.params().length];
        }
        double w = result.weight();
        float[] p = result.params();
        for (int i = 0; i < p.length; i++) {
            params[i] += w * p[i];
        }
        for (int k = 0; k < optimizerState.length; k++) {
            float[] source = result.optimizerState()[k];
            double[] target = optimizerState[k];
            for (int i = 0; i < source.length; i++) {
                target[i] += w * source[i];
            }
        }
        weight += w;
        lossSum += result.lossSum();
        tokens += result.tokens();
        rows += result.rows();
        trainedTokens += result.trainedTokens();
        result.metrics().forEach((name, value) -> metrics.merge(name, value, Double::sum));
        maxComputeNanos = Math.max(maxComputeNanos, result.computeNanos());
        totalComputeNanos += result.computeNanos();
        partitions++;
        steps = Math.max(steps, result.steps());
        gradNormSum += result.gradNorm();
        return this;
    }

    RoundSum merge(RoundSum other) {
        if (other.params == null) {
            return this;
        }
        if (params == null) {
            return other;
        }
        for (int i = 0; i < params.length; i++) {
            params[i] += other.params[i];
        }
        for (int k = 0; k < optimizerState.length; k++) {
            for (int i = 0; i < params.length; i++) {
                optimizerState[k][i] += other.optimizerState[k][i];
            }
        }
        weight += other.weight;
        lossSum += other.lossSum;
        tokens += other.tokens;
        rows += other.rows;
        trainedTokens += other.trainedTokens;
        other.metrics.forEach((name, value) -> metrics.merge(name, value, Double::sum));
        maxComputeNanos = Math.max(maxComputeNanos, other.maxComputeNanos);
        totalComputeNanos += other.totalComputeNanos;
        partitions += other.partitions;
        steps = Math.max(steps, other.steps);
        gradNormSum += other.gradNormSum;
        return this;
    }

    /** sum / weight, rounded to float. */
    static float[] mean(double[] sum, double weight) {
        float[] out = new float[sum.length];
        for (int i = 0; i < sum.length; i++) {
            out[i] = (float) (sum[i] / weight);
        }
        return out;
    }
}
