package io.whetstone.datasets.spark;

import java.io.Serializable;

/**
 * One record as read: its file, its line (1-based, JSONL) or row (0-based, Parquet), and its JSON text.
 */
public record RawRecord(String source, long line, String json) implements Serializable {

    private static final long serialVersionUID = 1L;
}
