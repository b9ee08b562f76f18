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
        return io.whetstone.jobs.engine.Seeds.mix(seed, promptIndex, sample, iteration);
    }
}
