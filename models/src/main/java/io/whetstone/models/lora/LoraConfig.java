package io.whetstone.models.lora;

import io.whetstone.models.Family;
import java.io.Serializable;
import java.util.List;
import java.util.Set;

/**
 * Low-rank adapters: on each targeted projection W [in, out] the model computes
 * x W + (alpha / rank) * dropout(x) A B with A [in, rank] and B [rank, out]; W stays frozen and only A
 * and B train. B starts at zero, so training starts from the base model exactly.
 *
 * @param rank r, > 0
 * @param alpha scaling numerator; the update is scaled by alpha / r
 * @param dropout probability of dropping an input of the adapter path in training, in [0, 1)
 * @param targets Hugging Face / PEFT module names: Llama {@code q_proj, k_proj, v_proj, o_proj,
 *                gate_proj, up_proj, down_proj}; GPT-2 {@code c_attn, c_proj, c_fc} ({@code c_proj}
 *                names both the attention and the MLP output projection, as in PEFT); empty: the family's
 *                defaults ({@link #forFamily})
 * @param seed seeds the initialisation of A and the dropout masks
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targets, long seed) implements Serializable {

    private static final long serialVersionUID = 1L;
    public static final Set<String> LLAMA_MODULES = Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
            "up_proj", "down_proj");
    public static final Set<String> GPT2_MODULES = Set.of("c_attn", "c_proj", "c_fc");

    public LoraConfig {
        if (rank < 1) {
            throw new IllegalArgumentException("lora.rank must be >= 1: " + rank);
        }
        if (!(alpha > 0)) {
            throw new IllegalArgumentException("lora.alpha must be > 0: " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("lora.dropout must be in [0, 1): " + dropout);
        }
        targets = targets == null ? List.of() : List.copyOf(targets);
    }

    /** These settings with empty targets replaced by {@code family}'s defaults: q_proj and v_proj, or c_attn. */
    public LoraConfig forFamily(Family family) {
        if (!targets.isEmpty()) {
            return this;
        }
        return new LoraConfig(rank, alpha, dropout, family == Family.GPT2 ? List.of("c_attn")
                : List.of("q_proj", "v_proj"), seed);
    }

    /** alpha / rank. */
    public double scale() {
        return alpha / rank;
    }

    /** Fails, naming the module, if a target does not exist in {@code family}. */
    public void validateFor(Family family) {
        Set<String> known = family == Family.LLAMA ? LLAMA_MODULES : GPT2_MODULES;
        for (String target : targets) {
            if (!known.contains(target)) {
                throw new IllegalArgumentException("lora.targets: " + family.id() + " has no module '" + target
                        + "' (known: " + known.stream().sorted().toList() + ")");
            }
        }
    }
}
