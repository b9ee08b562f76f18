package io.whetstone.datasets.spark;

import io.whetstone.datasets.records.PreferenceFormat;
import java.io.Serializable;

/**
 * What preference corpus to read and how to turn it into rows.
 *
 * @param path file, directory or glob on any Hadoop path
 * @param format paired or unpaired
 * @param container {@code jsonl}, {@code parquet} or {@code auto} (by file name)
 * @param validation strict (fail on the first bad records) or lenient (write them under rejects/)
 * @param seqLen T of the rows (each completion's row holds T+1 ids: prompt and completion)
 * @param truncation what to do with a prompt and completion longer than T+1 tokens: fail, or cut the
 *                   completion's end (a prompt that leaves no completion token is an error either way)
 * @param cacheDir where tokenized corpora are cached (a Hadoop path)
 * @param divergenceWindow pairs: the loss counts a pair's tokens up to this many past the first token where the
 *                         two completions differ (the shared beginning cancels in pairwise losses); 0: every
 *                         completion token
 */
public record PreferenceSpec(String path, PreferenceFormat format, String container, CorpusSpec.Validation validation,
                             int seqLen, CorpusSpec.Truncation truncation, String cacheDir, int divergenceWindow,
                             ColumnMap columns) implements Serializable {

    private static final long serialVersionUID = 1L;

    public PreferenceSpec {
        columns = columns == null ? ColumnMap.NONE : columns;
        if (seqLen < 2) {
            throw new IllegalArgumentException("data.seq_len must be >= 2, got " + seqLen);
        }
        if (divergenceWindow < 0) {
            throw new IllegalArgumentException("data.divergence_window must be >= 0 (0: whole completions), got "
                    + divergenceWindow);
        }
    }

    /** Whole completions. */
    public PreferenceSpec(String path, PreferenceFormat format, String container, CorpusSpec.Validation validation,
                          int seqLen, CorpusSpec.Truncation truncation, String cacheDir) {
        this(path, format, container, validation, seqLen, truncation, cacheDir, 0, ColumnMap.NONE);
    }

    /** Whole completions or a divergence window, every field under its own name. */
    public PreferenceSpec(String path, PreferenceFormat format, String container, CorpusSpec.Validation validation,
                          int seqLen, CorpusSpec.Truncation truncation, String cacheDir, int divergenceWindow) {
        this(path, format, container, validation, seqLen, truncation, cacheDir, divergenceWindow, ColumnMap.NONE);
    }
}
