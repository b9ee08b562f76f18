package io.whetstone.jobs.tts;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The test-time strategies over a question's candidates (its samples, in sampling order), as plain
 * functions: majority and weighted votes, best-of-N by a score, the leading candidates a token budget
 * pays for, and the compute-optimal rule that stops sampling an easy question early.
 */
public final class Strategies {

    private Strategies() {
    }

    /**
     * Self-consistency: the answer most candidates state; a tie goes to the answer whose voters' summed
     * log-prob is highest. Candidates without an answer abstain.
     */
    public static Choice majority(List<Candidate> candidates) {
        return vote(candidates, candidate -> 1.0);
    }

    /**
     * Weighted vote: each candidate votes with the reward model's score squashed to (0, 1) (a logistic, as a
     * Bradley-Terry reward is a log-odds); ties as in {@link #majority}.
     */
    public static Choice weightedVote(List<Candidate> candidates) {
        return vote(candidates, candidate -> 1.0 / (1.0 + Math.exp(-candidate.reward())));
    }

    private static Choice vote(List<Candidate> candidates, ToDoubleFunction<Candidate> weight) {
        Map<String, Double> votes = new LinkedHashMap<>();
        Map<String, Double> logProbs = new LinkedHashMap<>();
        Map<String, Integer> best = new LinkedHashMap<>();
        for (int i = 0; i < candidates.size(); i++) {
            Candidate candidate = candidates.get(i);
            if (candidate.answer() == null) {
                continue;
            }
            votes.merge(candidate.answer(), weight.applyAsDouble(candidate), Double::sum);
            logProbs.merge(candidate.answer(), candidate.logProb(), Double::sum);
            int at = i;
            best.merge(candidate.answer(), i, (old, now) -> candidates.get(old).logProb() >= candidates.get(at).logProb()
                    ? old : now);
        }
        String chosen = null;
        for (String answer : votes.keySet()) {
            if (chosen == null || votes.get(answer) > votes.get(chosen)
                    || (votes.get(answer).equals(votes.get(chosen)) && logProbs.get(answer) > logProbs.get(chosen))) {
                chosen = answer;
            }
        }
        return new Choice(chosen, chosen == null ? -1 : best.get(chosen), votes, candidates.size(),
                tokens(candidates));
    }

    /** Best-of-N: the candidate scored highest (the first on ties). */
    public static Choice best(List<Candidate> candidates, ToDoubleFunction<Candidate> score) {
        int best = -1;
        for (int i = 0; i < candidates.size(); i++) {
            if (best < 0 || score.applyAsDouble(candidates.get(i)) > score.applyAsDouble(candidates.get(best))) {
                best = i;
            }
        }
        return new Choice(best < 0 ? null : candidates.get(best).answer(), best, Map.of(), candidates.size(),
                tokens(candidates));
    }

    /** Best-of-N by the verifier: a correct candidate if there is one (the oracle upper bound). */
    public static Choice oracle(List<Candidate> candidates) {
        return best(candidates, candidate -> candidate.correct() ? 1 : 0);
    }

    /** The leading candidates whose tokens add up to at most {@code budget}. */
    public static List<Candidate> withinTokens(List<Candidate> candidates, long budget) {
        long spent = 0;
        int n = 0;
        while (n < candidates.size() && spent + candidates.get(n).tokens() <= budget) {
            spent += candidates.get(n).tokens();
            n++;
        }
        return candidates.subList(0, n);
    }

    /**
     * Compute-optimal self-consistency (after Snell et al.): vote over the first {@code first} candidates; when
     * their top answer has at least {@code agreement} of the votes the question is easy and sampling stops;
     * otherwise the vote runs over all {@code candidates} (the budget). Returns the vote and what it spent.
     */
    public static Choice adaptive(List<Candidate> candidates, int first, double agreement) {
        List<Candidate> probe = candidates.subList(0, Math.min(first, candidates.size()));
        Choice early = majority(probe);
        if (early.answer() != null && early.votes().get(early.answer()) >= agreement * probe.size()) {
            return early;
        }
        return majority(candidates);
    }

    private static long tokens(List<Candidate> candidates) {
        long sum = 0;
        for (Candidate candidate : candidates) {
            sum += candidate.tokens();
        }
        return sum;
    }
}
