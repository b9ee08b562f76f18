package io.whetstone.jobs.prm;

import java.io.Serializable;
import java.util.List;

/**
 * A sampled solution with a label per step.
 *
 * @param index the question's position in the input
 * @param id the question's id
 * @param sample which of its sampled solutions
 * @param prompt the prompt text
 * @param steps the solution's steps (they concatenate to the solution)
 * @param soft per step, the share of continuations from the end of that step that reach the right answer (the
 *             last step: 1 when the solution's own answer is right, else 0)
 * @param trueLabels per step, whether the solution is still on the reference's path; null without true labels
 * @param correct whether the solution's final answer is right
 */
public record LabelledSolution(long index, String id, int sample, String prompt, List<String> steps, double[] soft,
                               boolean[] trueLabels, boolean correct) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Math-Shepherd's hard label: some continuation reaches the right answer. */
    public boolean hard(int step) {
        return soft[step] > 0;
    }
}
