package io.whetstone.jobs.pipeline;

import io.whetstone.jobs.config.ConfigException;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ${...}} placeholders in stage values: {@code ${stages.NAME.KEY}} (an earlier stage's output: {@code dir},
 * {@code result}, the last line it printed, or a field of its run's end event such as {@code checkpoint}),
 * {@code ${vars.NAME}} (the file's {@code vars}), {@code ${pipeline.dir}}, {@code ${pipeline.file_dir}} (the pipeline file's directory, for relative paths in
 * {@code args}), {@code ${stage.dir}} (the stage's own directory) and {@code ${env.NAME}}.
 */
public final class Placeholders {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");

    private Placeholders() {
    }

    /** {@code text} with each placeholder replaced by {@code lookup}'s value (null: an error naming it). */
    public static String substitute(String text, Function<String, String> lookup, String where) {
        Matcher matcher = PLACEHOLDER.matcher(text);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String value = lookup.apply(matcher.group(1).trim());
            if (value == null) {
                throw new ConfigException(where + ": nothing to put in ${" + matcher.group(1) + "}");
            }
            matcher.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    /** The stages {@code text} refers to through {@code ${stages.NAME.*}}. */
    public static Set<String> stagesIn(String text) {
        Set<String> names = new LinkedHashSet<>();
        Matcher matcher = PLACEHOLDER.matcher(text);
        while (matcher.find()) {
            String[] parts = matcher.group(1).trim().split("\\.", 3);
            if (parts.length >= 2 && parts[0].equals("stages")) {
                names.add(parts[1]);
            }
        }
        return names;
    }
}
