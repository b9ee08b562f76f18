package io.whetstone.datasets.records;

import java.io.Serializable;

/** The outcome of reading one preference record: an example or an error. */
public record ParsedPreference(PreferenceExample example, RecordError error) implements Serializable {

    private static final long serialVersionUID = 1L;

    public ParsedPreference {
        if ((example == null) == (error == null)) {
            throw new IllegalArgumentException("exactly one of example and error must be set");
        }
    }

    public boolean ok() {
        return example != null;
    }
}
