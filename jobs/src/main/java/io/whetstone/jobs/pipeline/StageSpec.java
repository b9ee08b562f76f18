package io.whetstone.jobs.pipeline;

import java.util.List;
import java.util.Map;

/**
 * One stage as declared: its name (also its directory under the pipeline's), the Whetstone command it runs, that
 * command's config file (absolute; null for commands without one), {@code set}: config keys and values given as
 * {@code key=value} overrides, {@code args}: further command-line arguments, and {@code after}: stages it waits for
 * besides those its placeholders name. Values may hold placeholders ({@link Placeholders}).
 */
public record StageSpec(String name, String command, String config, Map<String, String> set, List<String> args,
                        List<String> after) {

    public StageSpec {
        set = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(set)); // keeps the file's order
        args = List.copyOf(args);
        after = List.copyOf(after);
    }
}
