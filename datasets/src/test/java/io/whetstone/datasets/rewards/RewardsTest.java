package io.whetstone.datasets.rewards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import java.util.List;
import org.junit.jupiter.api.Test;

class RewardsTest {

    private static RewardInput input(String completion, String reference) {
        return new RewardInput("Question: q\nAnswer: ", completion, reference, 10, false);
    }

    @Test
    void taskRewardAgreesWithTheTaskVerifier() throws Exception {
        TaskExample example = new ArithmeticTask(2, 3, true, 7).generate(ArithmeticTask.Split.TRAIN, 1).get(0);
        TaskAnswerReward reward = new TaskAnswerReward();
        assertEquals(1, reward.score(input(example.solution(), example.solution())));
        assertEquals(1, reward.score(input("whatever #### " + example.answer(), example.answer())));
        assertEquals(0, reward.score(input("#### " + example.answer() + "1", example.solution())));
        assertEquals(0, reward.score(input(example.answer(), example.solution())), "no #### line, no reward");
        assertThrows(IllegalArgumentException.class, () -> reward.score(input("#### 1", "")));
    }

    @Test
    void gsm8kRewardComparesNumbers() throws Exception {
        Gsm8kAnswerReward reward = new Gsm8kAnswerReward();
        String reference = "Natalia sold 48/2 = 24 clips in May.\n#### 1,200";
        assertEquals(1, reward.score(input("so the answer is 1200.", reference)));
        assertEquals(1, reward.score(input("... #### $1,200.00", reference)));
        assertEquals(0, reward.score(input("#### 1201", reference)));
        assertEquals(0, reward.score(input("no number here", reference)));
        assertEquals(1, reward.score(input("she has 18 left", "18")));
        assertThrows(IllegalArgumentException.class, () -> reward.score(input("12", "no answer")));
    }

    @Test
    void formatLengthAndMentionRewards() throws Exception {
        FormatReward format = new FormatReward(FormatReward.ANSWER_LINE);
        assertEquals(1, format.score(input("steps. #### 12", "")));
        assertEquals(0, format.score(input("steps. ####", "")));
        LengthPenalty penalty = new LengthPenalty(100, 20);
        assertEquals(0, penalty.score(new RewardInput("", "", "", 80, false)));
        assertEquals(-0.5, penalty.score(new RewardInput("", "", "", 90, false)), 1e-12);
        assertEquals(-1, penalty.score(new RewardInput("", "", "", 50, true)));
        MentionReward fixed = new MentionReward("dog");
        assertEquals(1, fixed.score(input("The Dog ran.", "")));
        assertEquals(0, fixed.score(input("The dogs ran.", "")), "whole words only");
        assertEquals(1, new MentionReward("").score(input("a red ball", "ball")));
    }

    @Test
    void scorerWeighsComponentsAndCountsFailures() {
        List<RewardScorer.Component> components = List.of(
                new RewardScorer.Component("correct", 1.0, new TaskAnswerReward()),
                new RewardScorer.Component("format", 0.1, new FormatReward(FormatReward.ANSWER_LINE)));
        try (RewardScorer scorer = new RewardScorer(components, 0)) {
            RewardScorer.Scored right = scorer.score(input("#### 12", "12"));
            assertEquals(1.1, right.total(), 1e-12);
            assertFalse(right.failed());
            RewardScorer.Scored formatOnly = scorer.score(input("#### 13", "12"));
            assertEquals(0.1, formatOnly.total(), 1e-12);
            RewardScorer.Scored failed = scorer.score(input("#### 12", ""));
            assertTrue(failed.failed());
            assertTrue(failed.failure().startsWith("correct: IllegalArgumentException"), failed.failure());
            assertTrue(Double.isNaN(failed.total()));
            assertTrue(Double.isNaN(failed.components()[0]));
            assertEquals(1, failed.components()[1]);
        }
    }

    @Test
    void aRewardPastItsTimeLimitIsAFailureAndTheScorerRecovers() {
        Reward slow = input -> {
            if (input.completion().equals("hang")) {
                Thread.sleep(60_000);
            }
            return 1;
        };
        try (RewardScorer scorer = new RewardScorer(List.of(new RewardScorer.Component("slow", 1, slow)), 200)) {
            RewardScorer.Scored hung = scorer.score(input("hang", ""));
            assertTrue(hung.failed());
            assertTrue(hung.failure().contains("timed out after 200 ms"), hung.failure());
            assertEquals(1, scorer.score(input("fine", "")).total());
        }
    }
    /**
     * Scoring many at once gives each completion what scoring it alone gives, failures included: a component whose
     * batch call fails is asked one by one, so only the completion that broke it fails; a batched override is used.
     */
    @Test
    void scoringABatchEqualsScoringEachAndKeepsFailuresWithTheirCompletion() {
        int[] batchCalls = {0};
        Reward counted = new Reward() {
            @Override
            public double score(RewardInput input) {
                return input.completion().length();
            }

            @Override
            public double[] scoreAll(List<RewardInput> inputs) {
                batchCalls[0]++;
                return inputs.stream().mapToDouble(input -> input.completion().length()).toArray();
            }
        };
        List<RewardScorer.Component> components = List.of(
                new RewardScorer.Component("correct", 1.0, new TaskAnswerReward()),
                new RewardScorer.Component("length", 0.5, counted));
        List<RewardInput> inputs = List.of(input("#### 12", "12"), input("#### 13", "12"), input("#### 12", ""),
                input("no answer", "7"));
        for (long timeout : new long[] {0, 5_000}) {
            try (RewardScorer scorer = new RewardScorer(components, timeout)) {
                List<RewardScorer.Scored> batch = scorer.scoreAll(inputs);
                assertEquals(inputs.size(), batch.size());
                for (int i = 0; i < inputs.size(); i++) {
                    RewardScorer.Scored alone = scorer.score(inputs.get(i));
                    assertEquals(alone.failure(), batch.get(i).failure(), "input " + i);
                    assertEquals(alone.total(), batch.get(i).total(), 0, "input " + i);
                    assertEquals(alone.components()[1], batch.get(i).components()[1], 0);
                }
                assertTrue(batch.get(2).failed(), "no reference: the task reward fails for this completion only");
                assertFalse(batch.get(3).failed());
            }
        }
        assertEquals(2, batchCalls[0], "one batched call per scoring of the batch");
    }

    @Test
    void aBatchPastItsTimeLimitFallsBackToOneByOne() {
        Reward slowAtOnce = new Reward() {
            @Override
            public double score(RewardInput input) {
                return 2;
            }

            @Override
            public double[] scoreAll(List<RewardInput> inputs) throws Exception {
                Thread.sleep(60_000);
                return new double[inputs.size()];
            }
        };
        try (RewardScorer scorer = new RewardScorer(List.of(new RewardScorer.Component("r", 1, slowAtOnce)), 100)) {
            List<RewardScorer.Scored> scored = scorer.scoreAll(List.of(input("a", ""), input("b", "")));
            assertEquals(2, scored.get(0).total());
            assertEquals(2, scored.get(1).total());
        }
    }
}
