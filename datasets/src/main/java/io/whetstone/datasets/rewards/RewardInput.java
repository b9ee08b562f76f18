package io.whetstone.datasets.rewards;

import java.io.Serializable;

/**
 * What a reward sees of one sampled completion.
 *
 * @param prompt the prompt text (without special tokens)
 * @param completion the completion text (without the end-of-sequence token)
 * @param reference the prompt's reference (a solution ending in {@code #### answer}, an answer, a word), or ""
 * @param completionTokens tokens generated
 * @param truncated whether generation stopped at the token limit instead of at end-of-sequence
 */
public record RewardInput(String prompt, String completion, String reference, int completionTokens,
                          boolean truncated) implements Serializable {

    private static final long serialVersionUID = 1L;

    public RewardInput {
        if (prompt == null || completion == null || reference == null) {
            throw new IllegalArgumentException("prompt, completion and reference must not be null");
        }
    }
}
