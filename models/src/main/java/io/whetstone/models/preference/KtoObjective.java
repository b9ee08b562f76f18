package io.whetstone.models.preference;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.objectives.ObjectiveResult;
import java.util.function.Function;

/**
 * KTO over a batch of unpaired rows, each a completion masked to its tokens with a desirable/undesirable
 * label; the reference point is the batch's KL estimate ({@link KtoLoss#referencePoint}). loss = sum of
 * the examples' losses / normaliser, by default the batch's rows (TRL's mean over examples).
 */
public final class KtoObjective implements Objective {

    private final KtoLoss loss;
    private final ReferenceLogProbs reference;
    private final Function<TokenBatch, boolean[]> labels;

    public KtoObjective(KtoSettings settings, ReferenceLogProbs reference, Function<TokenBatch, boolean[]> labels) {
        this.loss = new KtoLoss(settings);
        this.reference = reference;
        this.labels = labels;
    }

    @Override
    public ObjectiveResult evaluate(ForwardPass pass, TokenBatch batch, double normalizer) {
        if (!(normalizer > 0)) {
            throw new IllegalArgumentException("KTO needs a positive normaliser (no examples?): " + normalizer);
        }
        SequenceLogProbs policy = SequenceLogProbs.of(pass.logProbs(), batch); // [B]
        double[] ref = reference.sequenceLogProbs(batch);
        KtoLoss.Result result = loss.evaluate(policy.sums(), ref, labels.apply(batch),
                KtoLoss.referencePoint(policy.sums(), ref));
        return new ObjectiveResult(result.lossSum() / normalizer,
                SequenceLogProbs.spread(result.dPolicy(), batch, 1 / normalizer, pass.logProbs().dataType()), null,
                result.metrics());
    }

    @Override
    public double defaultNormalizer(TokenBatch batch) {
        return batch.batch();
    }
}
