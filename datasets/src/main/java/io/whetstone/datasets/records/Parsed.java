package io.whetstone.datasets.records;

import java.io.Serializable;

/** The outcome of reading one record: an example or an error. */
public record Parsed(Example example, RecordError error) implements Serializable {

    private static final long serialVersionUID = 1L;

    public Parsed {
        if ((example == null) == (error == null)) {
            throw new IllegalArgumentException("exactly one of example and error must be set");
        }
    }

    public static Parsed ok(Example example) {
        return new Parsed(example, null);
    }

    public static Parsed rejected(RecordError error) {
        return new Parsed(null, error);
    }

    public boolean ok() {
        return example != null;
    }
}
