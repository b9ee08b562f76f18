package io.whetstone.models.objectives;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A loss, what the model's backward needs, and the objective's own named numbers.
 *
 * @param loss the loss of this batch (already divided by the normaliser)
 * @param dLogProbs [B, T] d loss / d log-prob of each target
 * @param dLogits [N, V] d loss / d logits beyond the targets' log-probs, or null
 * @param dHidden [N, C] d loss / d final hidden states from a head on them (PPO's value head), or null
 * @param metrics named sums over this batch (e.g. {@code pairs}, {@code reward_margin_sum}); sums, not
 *                means, so micro-batches, local steps and partitions add them up and a reader divides by
 *                the count the objective reports beside them
 */
public record ObjectiveResult(double loss, INDArray dLogProbs, INDArray dLogits, INDArray dHidden,
                              Map<String, Double> metrics) {

    public ObjectiveResult {
        metrics = Map.copyOf(metrics);
    }

    /** A result without a head's gradient. */
    public ObjectiveResult(double loss, INDArray dLogProbs, INDArray dLogits, Map<String, Double> metrics) {
        this(loss, dLogProbs, dLogits, null, metrics);
    }

    /** A result without metrics of its own. */
    public ObjectiveResult(double loss, INDArray dLogProbs, INDArray dLogits) {
        this(loss, dLogProbs, dLogits, null, Map.of());
    }
}
