package io.whetstone.datasets.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which column (Parquet) or key (JSONL) holds each field of a record format, for tables whose names are not the
 * format's: {@code {question: problem_text, answer: solution}} reads {@code problem_text} as the question. Fields
 * not named keep their own name. Empty ({@link #NONE}) reads every field by its name.
 *
 * @param fieldToColumn format field -> the column or key that holds it
 */
public record ColumnMap(Map<String, String> fieldToColumn) implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Every field under its own name. */
    public static final ColumnMap NONE = new ColumnMap(Map.of());

    public ColumnMap {
        fieldToColumn = fieldToColumn == null ? Map.of()
                : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fieldToColumn));
        for (Map.Entry<String, String> entry : fieldToColumn.entrySet()) {
            if (entry.getValue() == null || entry.getValue().isBlank()) {
                throw new IllegalArgumentException("data.columns." + entry.getKey() + " must name a column");
            }
        }
    }

    /** Whether any field is read from another name. */
    public boolean active() {
        return !fieldToColumn.isEmpty();
    }

    /** Fails, naming them, when a mapped field is not one of the format's {@code fields}. */
    public void check(Set<String> fields) {
        for (String field : fieldToColumn.keySet()) {
            if (!fields.contains(field)) {
                throw new IllegalArgumentException("data.columns: '" + field + "' is not a field of the format (its "
                        + "fields: " + new TreeSet<>(fields) + ")");
            }
        }
    }

    /** The column that holds {@code field}. */
    public String columnOf(String field) {
        return fieldToColumn.getOrDefault(field, field);
    }

    /**
     * {@code record}'s JSON with each mapped key renamed to its field (the other keys as they are); a line that is
     * not a JSON object is returned as it is, for the parser to reject with its reason.
     */
    public RawRecord rename(RawRecord record) {
        if (!active()) {
            return record;
        }
        // read as the parser reads it (glued objects, trailing text, invalid UTF-8 are errors): a bad line stays
        // as it is, for the parser to reject with its reason
        io.whetstone.datasets.records.JsonLine line = io.whetstone.datasets.records.JsonLine.read(record.source(),
                record.line(), record.json());
        if (line.error() != null || !(line.node() instanceof ObjectNode object)) {
            return record;
        }
        ObjectNode renamed = JSON.createObjectNode();
        Map<String, String> columnToField = new LinkedHashMap<>();
        fieldToColumn.forEach((field, column) -> columnToField.put(column, field));
        object.fields().forEachRemaining(entry -> {
            String field = columnToField.get(entry.getKey());
            if (field != null) {
                renamed.set(field, entry.getValue());
            } else if (!fieldToColumn.containsKey(entry.getKey())) {
                renamed.set(entry.getKey(), entry.getValue());
            }
        });
        return new RawRecord(record.source(), record.line(), renamed.toString());
    }
}
