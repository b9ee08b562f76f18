package io.whetstone.models.lora;

import io.whetstone.models.Architecture;
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
 *                names both the attention and the MLP output projection, as in PEFT); Phi-3 {@code qkv_proj,
 *                o_proj, gate_up_proj, down_proj}; empty: the architecture's defaults ({@link #forArchitecture})
 * @param seed seeds the initialisation of A and the dropout masks
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targets, long seed) implements Serializable {

    private static final long serialVersionUID = 1L;
    public static final Set<String> LLAMA_MODULES = Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
            "up_proj", "down_proj");
    public static final Set<String> GPT2_MODULES = Set.of("c_attn", "c_proj", "c_fc");
    /** Phi-3's fused projections, as its checkpoints (and PEFT) name them. */
    public static final Set<String> PHI3_MODULES = Set.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj");

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
        return forArchitecture(family == Family.GPT2 ? Architecture.GPT2 : Architecture.LLAMA);
    }

    /**
     * These settings with empty targets replaced by {@code architecture}'s defaults (PEFT's): c_attn for GPT-2,
     * qkv_proj for Phi-3, q_proj and v_proj for the others.
     */
    public LoraConfig forArchitecture(Architecture architecture) {
        if (!targets.isEmpty()) {
            return this;
        }
        return new LoraConfig(rank, alpha, dropout, switch (architecture) {
            case GPT2 -> List.of("c_attn");
            case PHI3 -> List.of("qkv_proj");
            default -> List.of("q_proj", "v_proj");
        }, seed);
    }

    /** alpha / rank. */
    public double scale() {
        return alpha / rank;
    }

    /** Fails, naming the module, if a target does not exist in {@code architecture}. */
    public void validateFor(Architecture architecture) {
        Set<String> known = switch (architecture) {
            case GPT2 -> GPT2_MODULES;
            case PHI3 -> PHI3_MODULES;
            default -> LLAMA_MODULES;
        };
        for (String target : targets) {
            if (!known.contains(target)) {
                throw new IllegalArgumentException("lora.targets: " + architecture + " has no module '" + target
                        + "' (known: " + known.stream().sorted().toList() + ")");
            }
        }
    }
}
