package io.whetstone.jobs.tts;

import java.io.Serializable;

/**
 * One sampled completion of a question, as the strategies see it.
 *
 * @param answer its normalised final answer, or null when it states none (it then casts no vote)
 * @param tokens generated tokens (what it cost)
 * @param logProb the sum of its tokens' log-probs under the model
 * @param correct whether its answer matches the reference (false without a reference)
 * @param reward the outcome reward model's score, or NaN without one
 * @param process the process reward model's score of the whole solution (its steps' probabilities aggregated by
 *                min, last or product), or NaN without one
 */
public record Candidate(String answer, int tokens, double logProb, boolean correct, double reward, double process)
        implements Serializable {

    private static final long serialVersionUID = 2L;

    /** A candidate without a process reward model's score. */
    public Candidate(String answer, int tokens, double logProb, boolean correct, double reward) {
        this(answer, tokens, logProb, correct, reward, Double.NaN);
    }
}
