package io.whetstone.datasets.rewards;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * 1 when the completion mentions a word as a whole word, case-insensitively, else 0. The word is fixed
 * (configured) or, when not configured, the prompt's reference.
 */
public final class MentionReward implements Reward {

    private static final long serialVersionUID = 1L;

    private final String word;

    /** {@code word} may be empty: then each prompt's reference is the word. */
    public MentionReward(String word) {
        this.word = word == null ? "" : word.trim();
    }

    @Override
    public double score(RewardInput input) {
        String target = word.isEmpty() ? input.reference().trim() : word;
        if (target.isEmpty()) {
            throw new IllegalArgumentException("no word to look for: configure one or give each prompt a reference");
        }
        Pattern pattern = Pattern.compile("\\b" + Pattern.quote(target.toLowerCase(Locale.ROOT)) + "\\b");
        return pattern.matcher(input.completion().toLowerCase(Locale.ROOT)).find() ? 1 : 0;
    }
}
