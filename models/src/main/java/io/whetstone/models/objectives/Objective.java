package io.whetstone.models.objectives;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;

/**
 * A training objective: maps a forward pass's outputs (per-token log-probabilities and, where needed,
 * logits and final hidden states) to a loss, its gradients (d log-prob, d logits, d hidden for a head on
 * the hidden states) and named metric sums. The loss is divided by {@code normalizer}, so micro-batches and Spark
 * partitions can agree on one global normaliser (e.g. the masked tokens of the whole step).
 */
public interface Objective {

    /** Loss and gradient of {@code batch} under {@code pass}. */
    ObjectiveResult evaluate(ForwardPass pass, TokenBatch batch, double normalizer);

    /** The normaliser this objective uses for a step made of {@code batch} alone. */
    double defaultNormalizer(TokenBatch batch);
}
