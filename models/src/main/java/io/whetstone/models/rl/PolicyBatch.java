package io.whetstone.models.rl;

import io.whetstone.models.engine.TokenBatch;

/**
 * A batch of rollouts for a policy update: the token rows (prompt + completion, [B, T]; the loss mask
 * selects completion tokens) and, per position, what the rollout recorded.
 *
 * @param tokens inputs, targets and mask of the rows
 * @param oldLogProbs [B*T] log-prob of each target under the policy that sampled it
 * @param refLogProbs [B*T] log-prob under the frozen reference model, or null when the KL term is off
 * @param advantages [B*T] advantage of each target token (a sequence's advantage repeated, or GAE's)
 */
public record PolicyBatch(TokenBatch tokens, float[] oldLogProbs, float[] refLogProbs, float[] advantages) {

    public PolicyBatch {
        int n = tokens.size();
        if (oldLogProbs.length != n || advantages.length != n || (refLogProbs != null && refLogProbs.length != n)) {
            throw new IllegalArgumentException("a batch of " + n + " positions needs " + n
                    + " old log-probs, advantages and reference log-probs");
        }
    }

    /** Completion tokens the loss counts. */
    public double maskedTokens() {
        return tokens.maskedTokens();
    }

    /** Rows that have at least one counted token. */
    public int sequences() {
        int count = 0;
        for (int b = 0; b < tokens.batch(); b++) {
            for (int t = 0; t < tokens.seqLen(); t++) {
                if (tokens.lossMask()[b * tokens.seqLen() + t] > 0) {
                    count++;
                    break;
                }
            }
        }
        return count;
    }
}
