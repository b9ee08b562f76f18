package io.whetstone.jobs.engine;

import io.whetstone.models.engine.BulkArrays;
import java.io.Serializable;
import java.util.Map;

/**
 * What one partition returns from a round. In averaging mode: its parameters and optimiser state
 * after its local steps, weighted by the normaliser units it trained on. In gradient mode: the gradient of
 * its unnormalised loss in {@code params} (weight 1, no optimiser state).
 *
 * @param partition index
 * @param params [P] parameters (averaging) or summed gradient (gradient mode)
 * @param optimizerState [P] vectors (averaging only)
 * @param weight averaging weight (normaliser units trained on) or 1
 * @param lossSum the loss summed over normaliser units
 * @param tokens the objective's normaliser units: counted tokens for SFT and distillation, pairs (or
 *               examples) for preference losses
 * @param rows rows (or preference units) processed
 * @param computeNanos time spent computing in the task
 * @param trainedTokens tokens the loss counted (equal to {@code tokens} for SFT)
 * @param metrics the objective's named sums over the partition's steps
 * @param steps optimiser steps taken (averaging) or 1 (gradient mode); 0 when the partition had no rows for
 *              the round, and then {@code params} is null
 * @param gradNorm the sum of the partition's local steps' gradient norms (averaging), or 0
 * @param fetchNanos time the task spent getting the round's broadcast state (fetching its blocks and
 *                   deserialising them), before {@code computeNanos}
 */
public record PartitionResult(int partition, float[] params, float[][] optimizerState, double weight, double lossSum,
                              double tokens, long rows, long computeNanos, double trainedTokens,
                              Map<String, Double> metrics, long steps, double gradNorm, long fetchNanos)
        implements Serializable {

    private static final long serialVersionUID = 4L;

    /** The result computed without the broadcast fetch's time. */
    public PartitionResult(int partition, float[] params, float[][] optimizerState, double weight, double lossSum,
                           double tokens, long rows, long computeNanos, double trainedTokens,
                           Map<String, Double> metrics, long steps, double gradNorm) {
        this(partition, params, optimizerState, weight, lossSum, tokens, rows, computeNanos, trainedTokens, metrics,
                steps, gradNorm, 0);
    }

    /** Serialised as {@link Wire}: the vectors in bulk (records ignore writeObject; writeReplace is honoured). */
    private Object writeReplace() {
        return new Wire(this);
    }

    /** The serial form of a {@link PartitionResult}: its vectors as raw bytes ({@link BulkArrays}). */
    public static final class Wire implements java.io.Externalizable {
        private static final long serialVersionUID = 1L;
        private PartitionResult result;

        /** For deserialisation. */
        public Wire() {
        }

        Wire(PartitionResult result) {
            this.result = result;
        }

        @Override
        public void writeExternal(java.io.ObjectOutput out) throws java.io.IOException {
            PartitionResult r = result;
            out.writeInt(r.partition());
            BulkArrays.writeFloats(out, r.params());
            BulkArrays.writeFloatRows(out, r.optimizerState());
            for (double value : new double[] {r.weight(), r.lossSum(), r.tokens(), r.trainedTokens(), r.gradNorm()}) {
                out.writeDouble(value);
            }
            for (long value : new long[] {r.rows(), r.computeNanos(), r.steps(), r.fetchNanos()}) {
                out.writeLong(value);
            }
            out.writeObject(new java.util.TreeMap<>(r.metrics()));
        }

        @Override
        @SuppressWarnings("unchecked")
        public void readExternal(java.io.ObjectInput in) throws java.io.IOException, ClassNotFoundException {
            int partition = in.readInt();
            float[] params = BulkArrays.readFloats(in);
            float[][] state = BulkArrays.readFloatRows(in);
            double weight = in.readDouble();
            double lossSum = in.readDouble();
            double tokens = in.readDouble();
            double trainedTokens = in.readDouble();
            double gradNorm = in.readDouble();
            long rows = in.readLong();
            long computeNanos = in.readLong();
            long steps = in.readLong();
            long fetchNanos = in.readLong();
            Map<String, Double> metrics = (Map<String, Double>) in.readObject();
            result = new PartitionResult(partition, params, state, weight, lossSum, tokens, rows, computeNanos,
                    trainedTokens, metrics, steps, gradNorm, fetchNanos);
        }

        private Object readResolve() {
            return result;
        }
    }

    /** This result with the task's broadcast fetch time. */
    PartitionResult withFetchNanos(long nanos) {
        return new PartitionResult(partition, params, optimizerState, weight, lossSum, tokens, rows, computeNanos,
                trainedTokens, metrics, steps, gradNorm, nanos);
    }

    /** A partition that had no rows for the round. */
    static PartitionResult empty(int partition) {
        return new PartitionResult(partition, null, new float[0][], 0, 0, 0, 0, 0, 0, Map.of(), 0, 0);
    }
}
