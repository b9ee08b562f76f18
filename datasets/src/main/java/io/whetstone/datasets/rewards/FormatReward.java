package io.whetstone.datasets.rewards;

import java.util.regex.Pattern;

/**
 * 1 when the completion matches a pattern (by default: an answer line {@code #### <something>} is
 * present), else 0. Rewards the shape of an answer regardless of its correctness.
 */
public final class FormatReward implements Reward {

    private static final long serialVersionUID = 1L;

    /** An answer line: {@code ####} followed by a non-space on the same line. */
    public static final String ANSWER_LINE = "####[ \\t]*\\S";

    private final Pattern pattern;

    public FormatReward(String regex) {
        this.pattern = Pattern.compile(regex);
    }

    @Override
    public double score(RewardInput input) {
        return pattern.matcher(input.completion()).find() ? 1 : 0;
    }
}
