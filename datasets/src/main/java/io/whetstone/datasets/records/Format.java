package io.whetstone.datasets.records;

import java.util.Locale;

/** The input formats a corpus may be in, named in job configs. */
public enum Format {
    /** {@code {"prompt": str, "completion": str}}: loss on the completion. */
    PROMPT_COMPLETION,
    /** {@code {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}}: loss on assistant turns. */
    MESSAGES,
    /** {@code {"question": str, "answer": str}} as in GSM8K: loss on the answer (rationale and {@code #### N}). */
    GSM8K;

    public static Format parse(String name) {
        String key = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (Format format : values()) {
            if (format.name().equals(key)) {
                return format;
            }
        }
        throw new IllegalArgumentException("unknown data format '" + name
                + "' (expected prompt_completion, messages or gsm8k)");
    }

    /** The fields a record of this format may hold (a Parquet table's other columns are not read). */
    public java.util.Set<String> fields() {
        return switch (this) {
            case PROMPT_COMPLETION -> java.util.Set.of("prompt", "completion", "id");
            case MESSAGES -> java.util.Set.of("messages");
            case GSM8K -> java.util.Set.of("question", "answer");
        };
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
