package io.whetstone.jobs.config;

import java.util.Locale;
import java.util.Set;

/** Validation helpers for config records: each failure names the key and the value. */
final class Checks {

    private Checks() {
    }

    static void require(boolean condition, String message) {
        if (!condition) {
            throw new ConfigException(message);
        }
    }

    static String oneOf(String key, String value, Set<String> allowed) {
        String normalized = value == null ? null : value.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        if (normalized == null || !allowed.contains(normalized)) {
            throw new ConfigException(key + " must be one of " + allowed.stream().sorted().toList() + ", got '"
                    + value + "'");
        }
        return normalized;
    }
}
