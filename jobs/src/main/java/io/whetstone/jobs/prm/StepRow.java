package io.whetstone.jobs.prm;

import java.io.Serializable;

/**
 * A solution as a process reward model trains on it: BOS, the prompt and the steps as token ids, the index of
 * each labelled step's last token, and the step's label in [0, 1].
 *
 * @param ids token ids [L]
 * @param ends per labelled step, the position of its last token
 * @param labels per labelled step, its label (hard 0/1 or a soft share)
 */
public record StepRow(int[] ids, int[] ends, double[] labels) implements Serializable {

    private static final long serialVersionUID = 1L;

    public StepRow {
        if (ends.length != labels.length) {
            throw new IllegalArgumentException("a step row needs one label per step end");
        }
    }
}
