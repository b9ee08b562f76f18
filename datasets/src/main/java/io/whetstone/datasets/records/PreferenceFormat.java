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
    UNPAIRED;

    public static PreferenceFormat parse(String name) {
        String key = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (PreferenceFormat format : values()) {
            if (format.name().equals(key)) {
                return format;
            }
        }
        throw new IllegalArgumentException("unknown preference format '" + name + "' (expected paired or unpaired)");
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
