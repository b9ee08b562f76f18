package io.whetstone.jobs.tts;

import java.io.Serializable;
import java.util.Map;

/**
 * One row of a run's table: what one strategy chose for one question at one budget.
 *
 * @param index the question's position in the input
 * @param id the question's id
 * @param strategy the strategy's name
 * @param budget the budget (samples or tokens per question; 1 sample for greedy)
 * @param candidates candidates the strategy looked at
 * @param tokens the tokens they cost
 * @param answer the chosen answer, or null
 * @param votes each answer's votes (empty for best-of-N and greedy)
 * @param score the chosen candidate's reward-model score (NaN without one)
 * @param correct whether the answer matches the reference; null without a reference
 */
public record Outcome(long index, String id, String strategy, int budget, int candidates, long tokens, String answer,
                      Map<String, Double> votes, double score, Boolean correct) implements Serializable {

    private static final long serialVersionUID = 1L;
}
