package io.whetstone.datasets.records;

import java.util.Locale;

/** The preference data formats, as TRL names them. */
public enum PreferenceFormat {
    /**
     * {@code {"prompt", "chosen", "rejected"}} (optional {@code "id"}, {@code "margin"}): strings, or message
     * lists (the prompt's turns, then the chosen and rejected assistant turns), rendered with the chat template.
     */
    PAIRED,
    /** {@code {"prompt", "completion", "label": true|false}} (optional {@code "id"}): KTO's unpaired labels. */
    UNPAIRED,
    /**
     * {@code {"chosen", "rejected"}} (optional {@code "id"}, {@code "margin"}): whole texts that share their
     * prompt, as in Anthropic's HH-RLHF; the prompt is the shared beginning, cut back to the end of its last
     * {@code "Assistant:"} marker when there is one (so a reply's common first words stay in the completions),
     * else to a word boundary.
     */
    IMPLICIT_PROMPT;

    public static PreferenceFormat parse(String name) {
        String key = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (PreferenceFormat format : values()) {
            if (format.name().equals(key)) {
                return format;
            }
        }
        throw new IllegalArgumentException("unknown preference format '" + name + "' (expected paired, unpaired or implicit_prompt)");
    }

    /** The fields a record of this format may hold (a Parquet table's other columns are not read). */
    public java.util.Set<String> fields() {
        return switch (this) {
            case PAIRED -> java.util.Set.of("prompt", "chosen", "rejected", "id", "margin");
            case UNPAIRED -> java.util.Set.of("prompt", "completion", "label", "id");
            case IMPLICIT_PROMPT -> java.util.Set.of("chosen", "rejected", "id", "margin");
        };
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
