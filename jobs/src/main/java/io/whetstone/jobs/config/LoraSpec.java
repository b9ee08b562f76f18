package io.whetstone.jobs.config;

import java.util.List;

/**
 * Low-rank adapters for SFT: with {@code enabled}, the base model is frozen and adapters of {@code rank}
 * (scaled by alpha / rank, with dropout on their inputs) train on {@code targets} (PEFT module names;
 * empty: q_proj and v_proj for Llama, c_attn for GPT-2). Only adapters move between driver and executors.
 */
public record LoraSpec(boolean enabled, int rank, double alpha, double dropout, List<String> targets) {

    public LoraSpec {
        Checks.require(rank >= 1, "lora.rank must be >= 1, got " + rank);
        Checks.require(alpha > 0, "lora.alpha must be > 0, got " + alpha);
        Checks.require(dropout >= 0 && dropout < 1, "lora.dropout must be in [0, 1), got " + dropout);
        targets = targets == null ? List.of() : List.copyOf(targets);
    }
}
