package io.whetstone.datasets.tasks;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Extracts final answers. The built-in tasks and GSM8K references end in {@code #### <answer>}; GSM8K
 * numbers are compared after removing thousands separators, a trailing period and a leading '+',
 * and as numbers when both parse ("18" equals "18.0").
 */
public final class FinalAnswer {

    private static final Pattern MARKED = Pattern.compile("####\\s*([^\\n]*)");
    private static final Pattern NUMBER = Pattern.compile("-?\\$?[0-9][0-9,]*(?:\\.[0-9]+)?");

    private FinalAnswer() {
    }

    /** The text after the first {@code ####} up to the end of its line, trimmed; empty if none. */
    public static Optional<String> marked(String text) {
        Matcher matcher = MARKED.matcher(text);
        if (!matcher.find()) {
            return Optional.empty();
        }
        String answer = matcher.group(1).trim();
        return answer.isEmpty() ? Optional.empty() : Optional.of(answer);
    }

    /** The number after {@code ####} in a GSM8K reference or completion, normalised. */
    public static Optional<String> gsm8kNumber(String text) {
        return marked(text).flatMap(FinalAnswer::firstNumber);
    }

    /** The last number in {@code text} (for completions that state a final number without a marker). */
    public static Optional<String> lastNumber(String text) {
        Matcher matcher = NUMBER.matcher(text);
        String last = null;
        while (matcher.find()) {
            last = matcher.group();
        }
        return Optional.ofNullable(last).map(FinalAnswer::normalizeNumber);
    }

    private static Optional<String> firstNumber(String text) {
        Matcher matcher = NUMBER.matcher(text);
        return matcher.find() ? Optional.of(normalizeNumber(matcher.group())) : Optional.empty();
    }

    /** Removes '$', thousands separators and trailing zeros after a decimal point ("1,200.50" -> "1200.5"). */
    public static String normalizeNumber(String number) {
        String plain = number.replace("$", "").replace(",", "").trim();
        if (plain.contains(".")) {
            plain = plain.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        if (plain.equals("-0")) {
            plain = "0";
        }
        return plain;
    }
}
