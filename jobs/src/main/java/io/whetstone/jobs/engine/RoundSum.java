package io.whetstone.jobs.engine;

import io.whetstone.models.engine.BulkArrays;
import java.io.Serializable;

/**
 * The running weighted sum of partition results, merged by Spark's treeAggregate in whatever order
 * tasks finish. Sums are kept in double: each term is a float times an integer token count below 2^24,
 * exact in double, and the partitions' values share their magnitude, so the sum does not depend on the
 * merge order in practice; this keeps a retried or resumed round bit-identical.
 *
 * <p>A sum that holds one partition's result keeps its float vectors as they came and widens them to double only
 * when a second result joins: a task's sum then crosses the network at 4 bytes a value, not 8, and the first
 * term {@code 0.0 + w * p[i]} is the same double either way.
 */
final class RoundSum implements Serializable {

    private static final long serialVersionUID = 4L;

    /** Weighted sums of the results' vectors; null while at most one result is held (see {@link #single}). */
    transient double[] params;
    transient double[][] optimizerState;
    /** The only result added so far, its vectors not yet widened; null otherwise. */
    private PartitionResult single;
    double weight;
    double lossSum;
    double tokens;
    long rows;
    double trainedTokens;
    java.util.TreeMap<String, Double> metrics = new java.util.TreeMap<>();
    long maxComputeNanos;
    long totalComputeNanos;
    /** Per task: fetching the broadcast state plus computing; the most any took, and their total. */
    long maxTaskNanos;
    long totalTaskNanos;
    long maxFetchNanos;
    int partitions;
    long steps;
    double gradNormSum;

    RoundSum add(PartitionResult result) {
        if (result.params() == null) {
            return this; // no rows for this round
        }
        if (isEmpty()) {
            single = result;
        } else {
            widen();
            accumulate(result.params(), result.optimizerState(), result.weight());
        }
        weight += result.weight();
        lossSum += result.lossSum();
        tokens += result.tokens();
        rows += result.rows();
        trainedTokens += result.trainedTokens();
        result.metrics().forEach((name, value) -> metrics.merge(name, value, Double::sum));
        maxComputeNanos = Math.max(maxComputeNanos, result.computeNanos());
        totalComputeNanos += result.computeNanos();
        long task = result.fetchNanos() + result.computeNanos();
        maxTaskNanos = Math.max(maxTaskNanos, task);
        totalTaskNanos += task;
        maxFetchNanos = Math.max(maxFetchNanos, result.fetchNanos());
        partitions++;
        steps = Math.max(steps, result.steps());
        gradNormSum += result.gradNorm();
        return this;
    }

    /** The widened sums in bulk ({@link io.whetstone.models.engine.BulkArrays}); the rest as Java serialises it. */
    private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
        out.defaultWriteObject();
        BulkArrays.writeDoubles(out, params);
        out.writeInt(optimizerState == null ? -1 : optimizerState.length);
        if (optimizerState != null) {
            for (double[] vector : optimizerState) {
                BulkArrays.writeDoubles(out, vector);
            }
        }
    }

    private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
        in.defaultReadObject();
        params = BulkArrays.readDoubles(in);
        int vectors = in.readInt();
        if (vectors >= 0) {
            optimizerState = new double[vectors][];
            for (int k = 0; k < vectors; k++) {
                optimizerState[k] = BulkArrays.readDoubles(in);
            }
        }
    }

    /** No partition result with rows has been added. */
    boolean isEmpty() {
        return params == null && single == null;
    }

    /** Widens a held single result into the double sums (once all results are in, or a second one joins). */
    RoundSum widen() {
        if (single != null) {
            params = new double[single.params().length];
            optimizerState = new double[single.optimizerState().length][single.params().length];
            PartitionResult held = single;
            single = null;
            accumulate(held.params(), held.optimizerState(), held.weight());
        }
        return this;
    }

    private void accumulate(float[] p, float[][] state, double w) {
        for (int i = 0; i < p.length; i++) {
            params[i] += w * p[i];
        }
        for (int k = 0; k < optimizerState.length; k++) {
            float[] source = state[k];
            double[] target = optimizerState[k];
            for (int i = 0; i < source.length; i++) {
                target[i] += w * source[i];
            }
        }
    }

    RoundSum merge(RoundSum other) {
        if (other.isEmpty()) {
            return this;
        }
        if (isEmpty()) {
            return other;
        }
        widen();
        if (other.single != null) {
            accumulate(other.single.params(), other.single.optimizerState(), other.single.weight());
        } else {
            for (int i = 0; i < params.length; i++) {
                params[i] += other.params[i];
            }
            for (int k = 0; k < optimizerState.length; k++) {
                for (int i = 0; i < params.length; i++) {
                    optimizerState[k][i] += other.optimizerState[k][i];
                }
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
        maxTaskNanos = Math.max(maxTaskNanos, other.maxTaskNanos);
        totalTaskNanos += other.totalTaskNanos;
        maxFetchNanos = Math.max(maxFetchNanos, other.maxFetchNanos);
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
