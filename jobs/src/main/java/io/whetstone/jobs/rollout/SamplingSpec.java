package io.whetstone.jobs.rollout;

import java.io.Serializable;

/**
 * How completions are sampled: {@code samplesPerPrompt} per prompt, up to {@code maxNewTokens} each, at
 * {@code temperature} (0: greedy) with optional top-k / top-p truncation, decoded {@code decodeBatch} rows
 * at a time. Sample s of prompt i in iteration t has its own generator seeded by (seed, i, s, t), so a
 * retried task draws the same completions.
 */
public record SamplingSpec(int samplesPerPrompt, int maxNewTokens, double temperature, int topK, double topP,
                           int decodeBatch, long seed) implements Serializable {

    private static final long serialVersionUID = 1L;

    public SamplingSpec {
        if (samplesPerPrompt < 1 || maxNewTokens < 1 || decodeBatch < 1) {
            throw new IllegalArgumentException("samples per prompt, max new tokens and decode batch must be >= 1, got "
                    + samplesPerPrompt + ", " + maxNewTokens + ", " + decodeBatch);
        }
        if (!(temperature >= 0) || topK < 0 || !(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("temperature must be >= 0, top_k >= 0 and top_p in (0, 1], got "
                    + temperature + ", " + topK + ", " + topP);
        }
    }

    public boolean greedy() {
        return temperature == 0;
    }

    /** The same settings, decoding greedily (evaluation). */
    public SamplingSpec asGreedy() {
        return new SamplingSpec(samplesPerPrompt, maxNewTokens, 0, topK, topP, decodeBatch, seed);
    }

    /** The seed of sample {@code sample} of prompt {@code promptIndex} in {@code iteration}. */
    public static long seed(long seed, long promptIndex, int sample, long iteration) {
        long h = seed * 0x9E3779B97F4A7C15L + promptIndex * 0xC2B2AE3D27D4EB4FL + sample * 0x165667B19E3779F9L
                + iteration * 0x27D4EB2F165667C5L;
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ (h >>> 29);
    }
}
