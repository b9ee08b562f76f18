package io.whetstone.models.objectives;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A loss and what the model's backward needs.
 *
 * @param loss the loss of this batch (already divided by the normaliser)
 * @param dLogProbs [B, T] d loss / d log-prob of each target
 * @param dLogits [N, V] d loss / d logits beyond the targets' log-probs, or null
 */
public record ObjectiveResult(double loss, INDArray dLogProbs, INDArray dLogits) {
}
