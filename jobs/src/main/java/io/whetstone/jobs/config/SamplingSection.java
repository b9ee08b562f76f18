package io.whetstone.jobs.config;

/**
 * Sampling of a fixed policy over a prompt set (distill-data, preference-data): {@code samples_per_prompt}
 * completions per prompt, each seeded by (seed, prompt, sample);
 * prompts are processed in chunks of {@code chunk_prompts}, each written when done, so a killed run
 * resumes after its last complete chunk.
 */
public record SamplingSection(int samplesPerPrompt, int maxNewTokens, double temperature, int topK, double topP,
                              int decodeBatch, long seed, int chunkPrompts) {
    public SamplingSection {
        Checks.require(samplesPerPrompt >= 1, "sampling.samples_per_prompt must be >= 1, got " + samplesPerPrompt);
        Checks.require(maxNewTokens >= 1, "sampling.max_new_tokens must be >= 1, got " + maxNewTokens);
        Checks.require(temperature >= 0, "sampling.temperature must be >= 0 (0: greedy), got " + temperature);
        Checks.require(topK >= 0, "sampling.top_k must be >= 0, got " + topK);
        Checks.require(topP > 0 && topP <= 1, "sampling.top_p must be in (0, 1], got " + topP);
        Checks.require(decodeBatch >= 1, "sampling.decode_batch must be >= 1, got " + decodeBatch);
        Checks.require(chunkPrompts >= 1, "sampling.chunk_prompts must be >= 1, got " + chunkPrompts);
    }

    /** The sampler's settings. */
    public io.whetstone.jobs.rollout.SamplingSpec spec() {
        return new io.whetstone.jobs.rollout.SamplingSpec(samplesPerPrompt, maxNewTokens, temperature, topK, topP,
                decodeBatch, seed);
    }
}

