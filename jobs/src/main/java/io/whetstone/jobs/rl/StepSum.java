package io.whetstone.jobs.rl;

import java.io.Serializable;

/**
 * The running sum of partition results of an update, merged by treeAggregate in any order. Vectors are
 * summed in double (weighted by the partition's weight: 1 for gradients, tokens for averaged states), so
 * a retried step gives the same result.
 */
final class StepSum implements Serializable {

    private static final long serialVersionUID = 1L;

    double[] vector;
    double[][] moments;
    double weight;
    double policyLoss;
    double valueLoss;
    double replayLoss;
    double klSum;
    double clippedTokens;
    double tokens;
    double ratioSum;
    double valueClipped;
    long steps;
    long maxComputeNanos;
    long totalComputeNanos;
    int partitions;

    StepSum add(UpdateWorker.Result result) {
        if (result.vector() == null) {
            return this;
        }
        if (vector == null) {
            vector = new double[result.vector().length];
            moments = new double[result.moments().length][result.vector().length];
        }
        double w = result.weight();
        float[] v = result.vector();
        for (int i = 0; i < v.length; i++) {
            vector[i] += w * v[i];
        }
        for (int k = 0; k < moments.length; k++) {
            float[] source = result.moments()[k];
            for (int i = 0; i < source.length; i++) {
                moments[k][i] += w * source[i];
            }
        }
        weight += w;
        policyLoss += result.stats().policyLoss();
        valueLoss += result.stats().valueLoss();
        replayLoss += result.replayLoss();
        klSum += result.stats().klSum();
        clippedTokens += result.stats().clippedTokens();
        tokens += result.stats().tokens();
        ratioSum += result.stats().ratioSum();
        valueClipped += result.stats().valueClipped();
        steps = Math.max(steps, result.steps());
        maxComputeNanos = Math.max(maxComputeNanos, result.computeNanos());
        totalComputeNanos += result.computeNanos();
        partitions++;
        return this;
    }

    StepSum merge(StepSum other) {
        if (other.vector == null) {
            return this;
        }
        if (vector == null) {
            return other;
        }
        for (int i = 0; i < vector.length; i++) {
            vector[i] += other.vector[i];
        }
        for (int k = 0; k < moments.length; k++) {
            for (int i = 0; i < vector.length; i++) {
                moments[k][i] += other.moments[k][i];
            }
        }
        weight += other.weight;
        policyLoss += other.policyLoss;
        valueLoss += other.valueLoss;
        replayLoss += other.replayLoss;
        klSum += other.klSum;
        clippedTokens += other.clippedTokens;
        tokens += other.tokens;
        ratioSum += other.ratioSum;
        valueClipped += other.valueClipped;
        steps = Math.max(steps, other.steps);
        maxComputeNanos = Math.max(maxComputeNanos, other.maxComputeNanos);
        totalComputeNanos += other.totalComputeNanos;
        partitions += other.partitions;
        return this;
    }

    /** vector / weight as floats. */
    float[] mean() {
        return mean(vector, weight);
    }

    static float[] mean(double[] sum, double weight) {
        float[] out = new float[sum.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (sum[i] / weight);
        }
        return out;
    }
}
