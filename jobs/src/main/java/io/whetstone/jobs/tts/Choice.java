package io.whetstone.jobs.tts;

import java.util.Map;

/**
 * What a strategy picked for a question.
 *
 * @param answer the chosen answer, or null when no candidate stated one
 * @param index the candidate whose answer it is (the best-scored voter for votes), or -1
 * @param votes each answer's votes (counts, or summed weights for a weighted vote; empty for best-of-N)
 * @param candidates how many candidates the strategy looked at
 * @param tokens the tokens those candidates cost
 */
public record Choice(String answer, int index, Map<String, Double> votes, int candidates, long tokens) {

    public Choice {
        votes = Map.copyOf(votes);
    }
}
