package io.whetstone.models.preference;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.objectives.ObjectiveResult;

/**
 * A pairwise preference loss over a batch whose rows come in pairs: row 2i is pair i's chosen completion,
 * row 2i + 1 its rejected one, each masked to its completion tokens (the shared prompt is not trained
 * on). loss = sum over pairs of the pair loss / normaliser, by default the batch's pairs.
 */
public final class PreferenceObjective implements Objective {

    private final PairwiseLoss loss;
    private final ReferenceLogProbs reference;

    /** {@code reference} may be null for the reference-free losses (SimPO, ORPO). */
    public PreferenceObjective(PreferenceSettings settings, ReferenceLogProbs reference) {
        if (settings.loss().usesReference() && reference == null) {
            throw new IllegalArgumentException(settings.loss().id() + " needs a reference model");
        }
        this.loss = new PairwiseLoss(settings);
        this.reference = settings.loss().usesReference() ? reference : null;
    }

    @Override
    public ObjectiveResult evaluate(ForwardPass pass, TokenBatch batch, double normalizer) {
        if (!(normalizer > 0)) {
            throw new IllegalArgumentException("a preference loss needs a positive normaliser (no pairs?): "
                    + normalizer);
        }
        int pairs = pairs(batch);
        SequenceLogProbs policy = SequenceLogProbs.of(pass.logProbs(), batch); // [B]
        double[] ref = reference == null ? null : reference.sequenceLogProbs(batch);
        PairwiseLoss.Result result = loss.evaluate(new PairwiseLoss.Pairs(
                even(policy.sums(), 0, pairs), even(policy.sums(), 1, pairs),
                ref == null ? null : even(ref, 0, pairs), ref == null ? null : even(ref, 1, pairs),
                even(policy.tokens(), 0, pairs), even(policy.tokens(), 1, pairs)));
        double[] perRow = new double[batch.batch()]; // [B] d lossSum / d row sum
        for (int i = 0; i < pairs; i++) {
            perRow[2 * i] = result.dChosen()[i];
            perRow[2 * i + 1] = result.dRejected()[i];
        }
        return new ObjectiveResult(result.lossSum() / normalizer,
                SequenceLogProbs.spread(perRow, batch, 1 / normalizer, pass.logProbs().dataType()), null,
                result.metrics());
    }

    /** The batch's pairs. */
    @Override
    public double defaultNormalizer(TokenBatch batch) {
        return pairs(batch);
    }

    private static int pairs(TokenBatch batch) {
        if (batch.batch() % 2 != 0) {
            throw new IllegalArgumentException("a preference batch holds pairs of rows (chosen, rejected); got "
                    + batch.batch() + " rows");
        }
        return batch.batch() / 2;
    }

    /** Elements parity, parity + 2, ... of {@code rows}. */
    private static double[] even(double[] rows, int parity, int pairs) {
        double[] out = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            out[i] = rows[2 * i + parity];
        }
        return out;
    }

    @Override
    public String toString() {
        return "PreferenceObjective[" + loss.settings() + "]";
    }
}
