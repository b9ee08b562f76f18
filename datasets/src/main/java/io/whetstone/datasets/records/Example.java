package io.whetstone.datasets.records;

import java.io.Serializable;
import java.util.List;

/**
 * A training example: where it came from and its pieces in order.
 *
 * @param source the file (or table) it was read from
 * @param line 1-based line of a JSONL file, or 0-based row of a Parquet file
 * @param pieces text and special tokens, each trainable or not
 */
public record Example(String source, long line, List<Piece> pieces) implements Serializable {

    private static final long serialVersionUID = 1L;

    public Example {
        pieces = List.copyOf(pieces);
    }
}
