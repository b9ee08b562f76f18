package io.whetstone.models;

import java.util.Locale;

/** The architecture families the engine implements. */
public enum Family {
    /** LayerNorm, tanh-GELU MLP, learned positions, biases, LM head tied to the token embedding. */
    GPT2,
    /** RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention, no biases, untied LM head. */
    LLAMA;

    /** Parses {@code gpt2} or {@code llama} (any case). */
    public static Family parse(String name) {
        String key = name.trim().toUpperCase(Locale.ROOT).replace("-", "");
        for (Family family : values()) {
            if (family.name().equals(key)) {
                return family;
            }
        }
        throw new IllegalArgumentException("unknown model family '" + name + "' (expected gpt2 or llama)");
    }

    /** The lower-case name used in configs and reports. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
