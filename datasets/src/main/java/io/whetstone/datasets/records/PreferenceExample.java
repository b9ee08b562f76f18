package io.whetstone.datasets.records;

import java.io.Serializable;

/** A preference record after validation: a pair of completions of one prompt, or one labelled completion. */
public sealed interface PreferenceExample extends Serializable {

    String source();

    long line();

    /**
     * Two completions of one prompt, the chosen one preferred; each example's pieces hold the shared prompt
     * (not trained on) and the completion (trained on).
     *
     * @param margin how much more the chosen completion is preferred (reward models' optional margin), 0 if not given
     */
    record Paired(String source, long line, Example chosen, Example rejected, double margin)
            implements PreferenceExample {
        private static final long serialVersionUID = 1L;
    }

    /** One completion labelled desirable or not (KTO). */
    record Unpaired(String source, long line, Example completion, boolean desirable) implements PreferenceExample {
        private static final long serialVersionUID = 1L;
    }
}
