package io.whetstone.datasets.tasks;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.Optional;

/**
 * How a completion's final answer is read and compared, for votes and for checking against a reference:
 * {@code TASK}, the built-in task's exact {@code #### answer}; {@code GSM8K}, the number after {@code ####}
 * (else the last number), normalised ("1,200.50" and "1200.5" are one answer).
 */
public enum AnswerFormat {
    TASK, GSM8K;

    public static AnswerFormat parse(String name) {
        return valueOf(name.trim().toUpperCase(Locale.ROOT));
    }

    /** The normalised final answer of {@code text}, if it states one. */
    public Optional<String> extract(String text) {
        return switch (this) {
            case TASK -> FinalAnswer.marked(text);
            case GSM8K -> FinalAnswer.gsm8kNumber(text).or(() -> FinalAnswer.lastNumber(text))
                    .map(AnswerFormat::canonicalNumber);
        };
    }

    /** The reference's answer: its {@code ####} answer, or (for a bare answer) the reference itself. */
    public Optional<String> reference(String reference) {
        Optional<String> marked = extract(reference);
        if (marked.isPresent()) {
            return marked;
        }
        String bare = reference.trim();
        return bare.isEmpty() ? Optional.empty() : Optional.of(this == GSM8K ? canonicalNumber(bare) : bare);
    }

    /** One spelling per number: "18.0" and "18" vote together. */
    private static String canonicalNumber(String number) {
        try {
            BigDecimal value = new BigDecimal(number).stripTrailingZeros();
            return value.signum() == 0 ? "0" : value.toPlainString();
        } catch (NumberFormatException e) {
            return number;
        }
    }
}
