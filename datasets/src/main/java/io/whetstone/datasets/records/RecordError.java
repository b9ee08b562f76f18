package io.whetstone.datasets.records;

import java.io.Serializable;

/**
 * Why one input record was rejected.
 *
 * @param source file path
 * @param line 1-based line (JSONL) or 0-based row (Parquet)
 * @param field the offending field (a JSON path such as {@code messages[2].role}), or {@code -} for the line
 * @param reason what is wrong, with the bad value
 * @param raw the record as read (truncated to a few hundred characters)
 */
public record RecordError(String source, long line, String field, String reason, String raw) implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final int MAX_RAW = 300;

    public RecordError {
        if (raw != null && raw.length() > MAX_RAW) {
            raw = raw.substring(0, MAX_RAW) + "...";
        }
    }

    /** Orders errors by file, then line (serializable, for Spark's takeOrdered). */
    public static final java.util.Comparator<RecordError> BY_LOCATION = new ByLocation();

    private static final class ByLocation implements java.util.Comparator<RecordError>, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(RecordError a, RecordError b) {
            int bySource = a.source().compareTo(b.source());
            return bySource != 0 ? bySource : Long.compare(a.line(), b.line());
        }
    }

    /** {@code path:line: field: reason}. */
    public String describe() {
        return source + ":" + line + ": " + field + ": " + reason;
    }
}
