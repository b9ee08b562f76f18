package io.whetstone.jobs.tts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The strategies as plain functions: votes, their tie-breaking, best-of-N, budgets, the adaptive rule. */
class StrategiesTest {

    private static Candidate c(String answer, int tokens, double logProb, boolean correct, double reward) {
        return new Candidate(answer, tokens, logProb, correct, reward);
    }

    @Test
    void theMajorityAnswerWinsAndAnswerlessCandidatesAbstain() {
        List<Candidate> candidates = List.of(c("7", 10, -5, true, 0), c(null, 10, -1, false, 0), c("8", 10, -1, false, 0),
                c("7", 10, -9, true, 0), c(null, 10, -1, false, 0), c(null, 10, -1, false, 0));
        Choice choice = Strategies.majority(candidates);
        assertEquals("7", choice.answer());
        assertEquals(2.0, choice.votes().get("7"));
        assertEquals(1.0, choice.votes().get("8"));
        assertEquals(2, choice.votes().size());
        assertEquals(0, choice.index(), "the winning answer's most likely voter");
        assertEquals(60, choice.tokens());
        assertNull(Strategies.majority(List.of(c(null, 3, 0, false, 0))).answer());
    }

    @Test
    void aTieGoesToTheAnswerWhoseVotersAreMoreLikely() {
        List<Candidate> candidates = List.of(c("1", 5, -3, false, 0), c("2", 5, -1, false, 0), c("1", 5, -3, false, 0),
                c("2", 5, -4, false, 0));
        // "1": -6, "2": -5
        assertEquals("2", Strategies.majority(candidates).answer());
        List<Candidate> other = List.of(c("1", 5, -2, false, 0), c("2", 5, -1, false, 0), c("1", 5, -2, false, 0),
                c("2", 5, -4, false, 0));
        assertEquals("1", Strategies.majority(other).answer());
    }

    @Test
    void aWeightedVoteFollowsTheRewardModel() {
        // two low-scored votes for "3" against one confident vote for "4"
        List<Candidate> candidates = List.of(c("3", 5, 0, false, -4), c("4", 5, 0, true, 6), c("3", 5, 0, false, -4));
        assertEquals("3", Strategies.majority(candidates).answer());
        Choice weighted = Strategies.weightedVote(candidates);
        assertEquals("4", weighted.answer());
        assertEquals(2 / (1 + Math.exp(4)), weighted.votes().get("3"), 1e-12);
    }

    @Test
    void bestOfNTakesTheTopScoreAndTheOracleAnyCorrectCandidate() {
        List<Candidate> candidates = List.of(c("1", 5, 0, false, 0.5), c("2", 5, 0, true, 0.2), c("3", 5, 0, false, 2));
        assertEquals("3", Strategies.best(candidates, Candidate::reward).answer());
        assertEquals(2, Strategies.best(candidates, Candidate::reward).index());
        assertEquals("2", Strategies.oracle(candidates).answer());
        assertEquals("1", Strategies.oracle(List.of(candidates.get(0), candidates.get(2))).answer(),
                "no correct candidate: the first");
    }

    @Test
    void tokensSpentNeverExceedTheBudget() {
        Random random = new Random(5);
        for (int trial = 0; trial < 500; trial++) {
            List<Candidate> candidates = new ArrayList<>();
            for (int i = 0; i < 1 + random.nextInt(20); i++) {
                candidates.add(c(Integer.toString(random.nextInt(3)), 1 + random.nextInt(80), -random.nextDouble(),
                        false, 0));
            }
            long budget = random.nextInt(600);
            List<Candidate> paid = Strategies.withinTokens(candidates, budget);
            Choice choice = Strategies.majority(paid);
            assertTrue(choice.tokens() <= budget, choice.tokens() + " > " + budget);
            // the next candidate would not have fit
            if (paid.size() < candidates.size()) {
                assertTrue(choice.tokens() + candidates.get(paid.size()).tokens() > budget);
            }
        }
    }

    @Test
    void anEasyQuestionStopsAfterTheProbeAndAHardOneSpendsTheBudget() {
        List<Candidate> easy = new ArrayList<>();
        List<Candidate> hard = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            easy.add(c("5", 10, -1, true, 0));
            hard.add(c(Integer.toString(i % 3), 10, -1, false, 0));
        }
        Choice quick = Strategies.adaptive(easy, 4, 0.75);
        assertEquals(4, quick.candidates());
        assertEquals(40, quick.tokens());
        Choice slow = Strategies.adaptive(hard, 4, 0.75);
        assertEquals(16, slow.candidates());
        assertEquals("0", slow.answer());
    }
}
