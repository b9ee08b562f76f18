package io.whetstone.jobs.rl;

import io.whetstone.jobs.config.RlConfig;
import java.util.Map;

/** Checks an iteration's diagnostics against the configured bands; says which one broke, and how. */
final class Guards {

    private Guards() {
    }

    /** The first breached band, described, or null when all hold (or are off). */
    static String check(RlConfig.Guards guards, Map<String, Object> stats) {
        double kl = (double) stats.get("kl");
        double entropy = (double) stats.get("entropy");
        double length = (double) stats.get("response_length");
        if (guards.klMax() > 0 && kl > guards.klMax()) {
            return String.format("KL to the reference %.4f is above guards.kl_max %.4f", kl, guards.klMax());
        }
        if (guards.entropyMin() > 0 && entropy < guards.entropyMin()) {
            return String.format("token entropy %.4f is below guards.entropy_min %.4f", entropy, guards.entropyMin());
        }
        if (guards.lengthMax() > 0 && length > guards.lengthMax()) {
            return String.format("mean response length %.1f is above guards.length_max %.1f", length,
                    guards.lengthMax());
        }
        return null;
    }
}
