package io.whetstone.datasets.rewards;

/**
 * DAPO's soft overlong penalty: 0 up to {@code maxTokens - buffer} generated tokens, then falling
 * linearly to -1 at {@code maxTokens}; -1 for longer or truncated completions.
 */
public final class LengthPenalty implements Reward {

    private static final long serialVersionUID = 1L;

    private final int maxTokens;
    private final int buffer;

    public LengthPenalty(int maxTokens, int buffer) {
        if (maxTokens < 1 || buffer < 0 || buffer > maxTokens) {
            throw new IllegalArgumentException("need max_tokens >= 1 and 0 <= buffer <= max_tokens, got "
                    + maxTokens + ", " + buffer);
        }
        this.maxTokens = maxTokens;
        this.buffer = buffer;
    }

    @Override
    public double score(RewardInput input) {
        int length = input.completionTokens();
        if (input.truncated() || length > maxTokens) {
            return -1;
        }
        int free = maxTokens - buffer;
        if (length <= free) {
            return 0;
        }
        return -(double) (length - free) / buffer;
    }
}
