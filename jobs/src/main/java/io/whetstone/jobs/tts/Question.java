package io.whetstone.jobs.tts;

import java.io.Serializable;
import java.util.List;

/**
 * A question's candidates as sampled on an executor.
 *
 * @param index its position in the input
 * @param id its id
 * @param reference the reference's normalised answer, or null without one
 * @param samples its sampled candidates, in sample order
 * @param greedy its greedy completion, or null when greedy is not a strategy of the run
 */
public record Question(long index, String id, String reference, List<Candidate> samples, Candidate greedy)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    public Question {
        samples = List.copyOf(samples);
    }
}
