package io.whetstone.models.distill;

import java.util.Locale;

/**
 * Which divergence between the teacher's next-token distribution p_t and the student's p_s is minimised.
 * All are zero exactly when the two agree.
 */
public enum Divergence {
    /** KL(p_t || p_s): mass-covering; the classic logit distillation (Hinton et al.; GKD with beta = 0). */
    FORWARD_KL,
    /** KL(p_s || p_t): mode-seeking (MiniLLM; GKD with beta = 1). */
    REVERSE_KL,
    /**
     * Generalized Jensen-Shannon as in GKD (Agarwal et al., 2024; TRL's {@code generalized_jsd_loss}):
     * beta * KL(p_t || m) + (1 - beta) * KL(p_s || m) with m = beta * p_t + (1 - beta) * p_s.
     */
    JSD;

    /** Parses a config value such as {@code forward_kl} (case-insensitive). */
    public static Divergence parse(String value) {
        String name = value == null ? "" : value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (Divergence divergence : values()) {
            if (divergence.name().equals(name)) {
                return divergence;
            }
        }
        throw new IllegalArgumentException("unknown divergence '" + value + "' (known: forward_kl, reverse_kl, jsd)");
    }

    /** The config spelling. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
