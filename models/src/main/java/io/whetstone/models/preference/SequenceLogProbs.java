package io.whetstone.models.preference;

import io.whetstone.models.engine.TokenBatch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-row sums of a batch's masked log-probs, and the way back: a per-row derivative spread over the
 * row's counted tokens. The log-probs cross to the heap in one copy; rows are short loops.
 *
 * @param sums [B] sum over t of mask[b, t] * logp[b, t]
 * @param tokens [B] sum over t of mask[b, t]
 */
public record SequenceLogProbs(double[] sums, double[] tokens) {

    /** The sums of {@code logProbs} ([B, T]) under {@code batch}'s loss mask. */
    public static SequenceLogProbs of(INDArray logProbs, TokenBatch batch) {
        double[] values = logProbs.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        float[] mask = batch.lossMask();
        int seqLen = batch.seqLen();
        double[] sums = new double[batch.batch()];
        double[] tokens = new double[batch.batch()];
        for (int b = 0; b < batch.batch(); b++) {
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                sums[b] += mask[i] * values[i];
                tokens[b] += mask[i];
            }
        }
        return new SequenceLogProbs(sums, tokens);
    }

    /** [B, T] d loss / d logp[b, t] = perRow[b] * mask[b, t] * scale, in {@code dataType}. */
    public static INDArray spread(double[] perRow, TokenBatch batch, double scale, DataType dataType) {
        float[] mask = batch.lossMask();
        int seqLen = batch.seqLen();
        double[] out = new double[mask.length];
        for (int b = 0; b < batch.batch(); b++) {
            for (int t = 0; t < seqLen; t++) {
                out[b * seqLen + t] = perRow[b] * mask[b * seqLen + t] * scale;
            }
        }
        return Nd4j.createFromArray(out).reshape('c', batch.batch(), seqLen).castTo(dataType);
    }
}
