package io.whetstone.models.preference;

import io.whetstone.models.engine.TokenBatch;

/**
 * The frozen reference model's summed log-probs of each row of a batch (under the batch's loss mask): a
 * model run forward, or values computed once and carried with the rows.
 */
@FunctionalInterface
public interface ReferenceLogProbs {

    /** [B] per-row sums. */
    double[] sequenceLogProbs(TokenBatch batch);
}
