package io.whetstone.datasets.spark;

import io.whetstone.datasets.records.RecordError;
import java.util.List;

/** Input records failed validation; the message lists the first errors (file:line: field: reason) and the count. */
public final class DataValidationException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient List<RecordError> examples;
    private final long count;

    public DataValidationException(String path, List<RecordError> examples, long count) {
        super(message(path, examples, count));
        this.examples = List.copyOf(examples);
        this.count = count;
    }

    private static String message(String path, List<RecordError> examples, long count) {
        StringBuilder text = new StringBuilder();
        text.append(count).append(count == 1 ? " invalid record" : " invalid records").append(" in ").append(path)
                .append(" (validation: strict; set data.validation=lenient to skip them and write them under rejects/)");
        for (RecordError error : examples) {
            text.append("\n  ").append(error.describe());
        }
        if (count > examples.size()) {
            text.append("\n  ... and ").append(count - examples.size()).append(" more");
        }
        return text.toString();
    }

    /** The first errors, in file and line order. */
    public List<RecordError> examples() {
        return examples;
    }

    /** Total invalid records. */
    public long count() {
        return count;
    }
}
