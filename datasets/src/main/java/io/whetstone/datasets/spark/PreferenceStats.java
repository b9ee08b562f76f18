package io.whetstone.datasets.spark;

import java.io.Serializable;

/**
 * What preparing a preference corpus found and made.
 *
 * @param records records read
 * @param units valid pairs (paired data) or labelled completions (unpaired data) kept
 * @param rejected invalid records (lenient mode; strict mode fails instead)
 * @param truncated units with a completion cut to the row length
 * @param desirable unpaired completions labelled desirable (0 for pairs)
 * @param chosenTokens trained tokens of the chosen (or labelled) completions
 * @param rejectedTokens trained tokens of the rejected completions
 * @param fromCache whether the tokenized corpus came from the cache
 */
public record PreferenceStats(long records, long units, long rejected, long truncated, long desirable,
                              long chosenTokens, long rejectedTokens, boolean fromCache) implements Serializable {

    private static final long serialVersionUID = 1L;

    public PreferenceStats withFromCache(boolean cached) {
        return new PreferenceStats(records, units, rejected, truncated, desirable, chosenTokens, rejectedTokens, cached);
    }
}
