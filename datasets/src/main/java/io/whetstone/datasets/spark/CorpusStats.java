package io.whetstone.datasets.spark;

import java.io.Serializable;

/**
 * What preparing a corpus found and made.
 *
 * @param records records read
 * @param examples valid examples kept
 * @param rejected invalid records (lenient mode; strict mode fails instead)
 * @param truncated examples cut to the row length
 * @param rows packed rows
 * @param trainableTokens tokens counted by the loss over all rows
 * @param fromCache whether the tokenized corpus came from the cache
 */
public record CorpusStats(long records, long examples, long rejected, long truncated, long rows, long trainableTokens,
                          boolean fromCache) implements Serializable {

    private static final long serialVersionUID = 1L;

    public CorpusStats withFromCache(boolean cached) {
        return new CorpusStats(records, examples, rejected, truncated, rows, trainableTokens, cached);
    }
}
