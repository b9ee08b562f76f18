package io.whetstone.datasets.spark;

import io.whetstone.datasets.records.Format;
import java.io.Serializable;
import java.util.Locale;

/**
 * What corpus to read and how to turn it into training rows.
 *
 * @param path file, directory or glob on any Hadoop path
 * @param format record format
 * @param container {@code jsonl}, {@code parquet} or {@code auto} (by file name)
 * @param validation strict (fail on the first bad records) or lenient (write them under rejects/)
 * @param seqLen T of the training rows (rows hold T+1 ids)
 * @param packing several whole examples per row, or one example per row
 * @param truncation what to do with an example longer than T+1 tokens
 * @param cacheDir where tokenized corpora are cached (a Hadoop path)
 */
public record CorpusSpec(String path, Format format, String container, Validation validation, int seqLen,
                         boolean packing, Truncation truncation, String cacheDir, HeldOutSplit split,
                         ColumnMap columns) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Strict fails before training on any invalid record; lenient skips and records them. */
    public enum Validation {
        STRICT, LENIENT;

        public static Validation parse(String name) {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        }
    }

    /** ERROR rejects over-long examples; TRUNCATE cuts them to T+1 tokens (counted in the stats). */
    public enum Truncation {
        ERROR, TRUNCATE;

        public static Truncation parse(String name) {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        }
    }

    /** The whole corpus at {@code path}. */
    public CorpusSpec(String path, Format format, String container, Validation validation, int seqLen, boolean packing,
                      Truncation truncation, String cacheDir) {
        this(path, format, container, validation, seqLen, packing, truncation, cacheDir, HeldOutSplit.NONE,
                ColumnMap.NONE);
    }

    /** This corpus's side {@code heldOut} of a split holding out {@code fraction} of its records. */
    public CorpusSpec withSplit(double fraction, boolean heldOut) {
        return new CorpusSpec(path, format, container, validation, seqLen, packing, truncation, cacheDir,
                new HeldOutSplit(fraction, heldOut), columns);
    }

    /** This corpus with its fields read from the columns (or JSON keys) {@code map} names. */
    public CorpusSpec withColumns(ColumnMap map) {
        return new CorpusSpec(path, format, container, validation, seqLen, packing, truncation, cacheDir, split, map);
    }

    public CorpusSpec {
        split = split == null ? HeldOutSplit.NONE : split;
        columns = columns == null ? ColumnMap.NONE : columns;
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("data.path must be set");
        }
        if (seqLen < 2) {
            throw new IllegalArgumentException("data.seq_len must be >= 2: " + seqLen);
        }
        if (!container.equalsIgnoreCase("auto") && !container.equalsIgnoreCase("jsonl")
                && !container.equalsIgnoreCase("parquet")) {
            throw new IllegalArgumentException("data.container must be auto, jsonl or parquet: " + container);
        }
    }
}
