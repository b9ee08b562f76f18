package io.whetstone.models.generate;

import java.io.Serializable;

/**
 * How to sample continuations.
 *
 * @param maxNewTokens most tokens generated per prompt
 * @param temperature 0 for greedy; otherwise logits are divided by it
 * @param topK keep the k most likely tokens (0: all)
 * @param topP keep the smallest set of most likely tokens whose probability reaches p (1: all)
 * @param seed seeds each row's generator together with the row's index
 * @param stopIds generation of a row ends after any of these ids (which is kept)
 */
public record SamplingConfig(int maxNewTokens, double temperature, int topK, double topP, long seed, int[] stopIds)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    public SamplingConfig {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be >= 1: " + maxNewTokens);
        }
        if (!(temperature >= 0)) {
            throw new IllegalArgumentException("temperature must be >= 0: " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0: " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1]: " + topP);
        }
        stopIds = stopIds.clone();
    }

    /** Greedy decoding of up to {@code maxNewTokens}, stopping at {@code stopIds}. */
    public static SamplingConfig greedy(int maxNewTokens, int... stopIds) {
        return new SamplingConfig(maxNewTokens, 0, 0, 1, 0, stopIds);
    }

    public boolean greedy() {
        return temperature == 0;
    }

    @Override
    public int[] stopIds() {
        return stopIds.clone();
    }

    boolean isStop(int id) {
        for (int stop : stopIds) {
            if (stop == id) {
                return true;
            }
        }
        return false;
    }
}
