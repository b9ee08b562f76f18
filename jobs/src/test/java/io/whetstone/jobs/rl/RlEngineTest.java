package io.whetstone.jobs.rl;

import io.whetstone.jobs.rollout.ModelReward;
import io.whetstone.jobs.rollout.PromptRecord;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.rewards.RewardInput;
import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The RL engine below the job: rollouts, the distributed update, the model reward. */
class RlEngineTest {

    @AfterEach
    void freePools() {
        ModelPool.clear();
    }

    private static List<Rollout> rollouts(RlWorkerSetup setup, float[] params, List<PromptRecord> prompts,
                                          long iteration) {
        float[] reference = RlFixtures.randomPolicy(3);
        io.whetstone.models.engine.FrozenParams frozen = io.whetstone.models.engine.FrozenParams.of(reference,
                io.whetstone.models.engine.ParameterLayout.of(RlFixtures.MODEL), org.nd4j.linalg.api.buffer.DataType.FLOAT);
        RolloutPartition part = RolloutWorker.run(setup, params, () -> frozen, prompts.iterator(), iteration, 0, 4,
                false).next();
        return part.rollouts();
    }

    /**
     * rollout.old_logprobs auto (GRPO, untruncated sampling) takes the old log-probs and entropies from the sampler;
     * they equal the trainer's own forward pass (recompute) to float rounding, at temperature 1 and below it, and
     * with top-p the policy's pass runs whatever the setting.
     */
    @Test
    void theSamplersLogProbsAndEntropiesEqualTheTrainersPass() {
        float[] params = RlFixtures.randomPolicy(3);
        List<PromptRecord> prompts = RlFixtures.promptRecords(3);
        for (String temperature : new String[] {"1.0", "0.7"}) {
            RlWorkerSetup fused = RlFixtures.setup(false, "adamw", "rollout.temperature=" + temperature);
            RlWorkerSetup recomputed = RlFixtures.setup(false, "adamw", "rollout.temperature=" + temperature,
                    "rollout.old_logprobs=recompute");
            assertTrue(fused.oldLogProbsFromSampler());
            assertTrue(!recomputed.oldLogProbsFromSampler());
            List<Rollout> a = rollouts(fused, params, prompts, 1);
            List<Rollout> b = rollouts(recomputed, params, prompts, 1);
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i).completionIds(), b.get(i).completionIds());
                assertArrayEquals(a.get(i).samplerLogProbs(), a.get(i).oldLogProbs(), 0f, "reused as they are");
                assertArrayEquals(b.get(i).oldLogProbs(), a.get(i).oldLogProbs(), 1e-4f, "T=" + temperature);
                assertArrayEquals(b.get(i).refLogProbs(), a.get(i).refLogProbs(), 0f, "the reference still runs");
                assertEquals(b.get(i).entropySum(), a.get(i).entropySum(), 1e-4 * a.get(i).completionIds().length,
                        "T=" + temperature);
            }
        }
        assertTrue(!RlFixtures.setup(false, "adamw", "rollout.top_p=0.9").oldLogProbsFromSampler(), "truncated");
        assertTrue(!RlFixtures.setup(true, "adamw").oldLogProbsFromSampler(), "PPO's value head needs the pass");
    }

    @Test
    void rolloutsAreAPureFunctionOfPromptSampleAndIteration() {
        RlWorkerSetup setup = RlFixtures.setup(false, "adamw", "rollout.old_logprobs=recompute");
        float[] params = RlFixtures.randomPolicy(3);
        List<PromptRecord> prompts = RlFixtures.promptRecords(3);
        List<Rollout> first = rollouts(setup, params, prompts, 1);
        List<Rollout> retry = rollouts(setup, params, prompts, 1);
        List<Rollout> next = rollouts(setup, params, prompts, 2);
        assertEquals(12, first.size());
        boolean differs = false;
        for (int i = 0; i < first.size(); i++) {
            Rollout a = first.get(i);
            Rollout b = retry.get(i);
            assertArrayEquals(a.completionIds(), b.completionIds(), "a retried task samples the same tokens");
            assertArrayEquals(a.oldLogProbs(), b.oldLogProbs(), 0f);
            assertArrayEquals(a.refLogProbs(), b.refLogProbs(), 0f);
            assertEquals(a.reward(), b.reward());
            assertEquals(a.completionIds().length, a.oldLogProbs().length);
            // the decoder's and the trainer's log-probs of the same tokens agree to float rounding
            for (int t = 0; t < a.oldLogProbs().length; t++) {
                assertEquals(a.oldLogProbs()[t], a.decoderLogProbs()[t], 1e-4f, "token " + t);
            }
            // policy = reference here: the KL is zero up to rounding
            for (int t = 0; t < a.oldLogProbs().length; t++) {
                assertEquals(a.oldLogProbs()[t], a.refLogProbs()[t], 1e-5f);
            }
            differs |= !java.util.Arrays.equals(a.completionIds(), next.get(i).completionIds());
        }
        assertTrue(differs, "another iteration samples anew");
        assertTrue(first.stream().mapToDouble(Rollout::entropySum).allMatch(e -> e > 0));
    }

    /** Rows of real rollouts with random advantages (so every row carries signal). */
    private static List<UpdateRow> rows(RlWorkerSetup setup, float[] params) {
        List<Rollout> rollouts = rollouts(setup, params, RlFixtures.promptRecords(5), 1);
        Random random = new Random(4);
        List<UpdateRow> rows = new ArrayList<>();
        for (Rollout r : rollouts) {
            float[] advantages = new float[r.completionIds().length];
            java.util.Arrays.fill(advantages, (float) random.nextGaussian());
            rows.add(new UpdateRow(r.promptIds(), r.completionIds(), r.oldLogProbs(), r.refLogProbs(), advantages,
                    new float[0], new float[0], new int[0], null, r.promptIndex()));
        }
        return UpdateStage.assignMinibatches(rows, 2, 3, 1, 1);
    }

    /** The same rollouts of the same policy, updated for 2 epochs of 3 minibatches. */
    private static TrainingState twoEpochsOfThreeMinibatches(boolean averaging, int partitions) {
        return twoEpochsOfThreeMinibatches(averaging, partitions, "adamw");
    }

    private static TrainingState twoEpochsOfThreeMinibatches(boolean averaging, int partitions, String optimizer) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        RlWorkerSetup setup = RlFixtures.setup(false, optimizer);
        float[] params = RlFixtures.randomPolicy(3);
        List<UpdateRow> rows = rows(setup, params);
        int moments = optimizer.equals("adamw") ? 2 : 0;
        TrainingState start = new TrainingState(params, new float[moments][params.length], 0);
        UpdateStage stage = new UpdateStage(context, averaging, partitions, LrSchedule.constant(1e-3), "test");
        return stage.run(setup, rows, start, 2, 3, 1.0, 1.0, 1).state();
    }

    @Test
    void synchronousUpdateWithNPartitionsEqualsOnePartition() {
        float[] params = RlFixtures.randomPolicy(3); // the start both runs share
        TrainingState one = twoEpochsOfThreeMinibatches(false, 1);
        TrainingState three = twoEpochsOfThreeMinibatches(false, 3);
        assertEquals(6, one.step(), "2 epochs x 3 minibatches");
        assertEquals(one.step(), three.step());
        double moved = 0;
        for (int i = 0; i < params.length; i++) {
            moved = Math.max(moved, Math.abs(one.params()[i] - params[i]));
            // same steps; only the float summation order inside the model differs
            assertEquals(one.params()[i], three.params()[i], 2e-6, "parameter " + i);
        }
        assertTrue(moved > 1e-4, "the update moved the parameters: " + moved);
    }

    /**
     * GSPO's sequence ratio reaches the partitions' loss: equal to the token ratio's step on-policy (ratio 1, one
     * advantage per sequence), it differs from the second minibatch on, where the policy has moved.
     */
    @Test
    void theSequenceRatioReachesTheUpdate() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        float[] params = RlFixtures.randomPolicy(3);
        TrainingState[] after = new TrainingState[2];
        String[] levels = {"token", "sequence"};
        for (int k = 0; k < 2; k++) {
            RlWorkerSetup setup = RlFixtures.setup(false, "adamw", "algorithm.importance_sampling_level=" + levels[k],
                    "algorithm.clip_low=0.001", "algorithm.clip_high=0.001");
            List<UpdateRow> rows = rows(setup, params);
            UpdateStage stage = new UpdateStage(context, false, 1, LrSchedule.constant(1e-2), "test");
            after[k] = stage.run(setup, rows, new TrainingState(params, new float[2][params.length], 0), 2, 3, 1.0,
                    1.0, 1).state();
        }
        double differs = 0;
        for (int i = 0; i < params.length; i++) {
            differs = Math.max(differs, Math.abs(after[0].params()[i] - after[1].params()[i]));
        }
        assertTrue(differs > 1e-6, "token and sequence ratios trained alike: " + differs);
    }

    @Test
    void anUpdateRaisesTheLikelihoodOfWhatScoredWell() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        RlWorkerSetup setup = RlFixtures.setup(false, "sgd");
        float[] params = RlFixtures.randomPolicy(3);
        List<UpdateRow> rows = UpdateStage.assignMinibatches(rows(setup, params), 1, 1, 1, 1);
        TrainingState start = new TrainingState(params, new float[0][], 0);
        TrainingState after;
        UpdateStage stage = new UpdateStage(context, false, 2, LrSchedule.constant(0.05), "test");
        after = stage.run(setup, rows, start, 1, 1, 1.0, 1.0, 1).state();
        assertTrue(advantageWeightedLogLikelihood(after.params(), rows) > advantageWeightedLogLikelihood(params, rows),
                "sum of A * log p over the batch should rise");
    }

    private static double advantageWeightedLogLikelihood(float[] params, List<UpdateRow> rows) {
        try (Transformer model = new Transformer(RlFixtures.MODEL, RlFixtures.ENGINE)) {
            TrainingState.copyInto(params, model.parameters().params());
            double sum = 0;
            for (UpdateRow row : rows) {
                RolloutWorker.Rows padded = RolloutWorker.Rows.of(List.of(row.promptIds()),
                        List.of(row.completionIds()));
                ForwardPass pass = model.forward(padded.tokens, padded.targets, 1, padded.seqLen);
                for (int k = 0; k < row.completionIds().length; k++) {
                    sum += row.advantages()[k] * pass.logProbs().getDouble(0, padded.firstTarget[0] + k);
                }
            }
            return sum;
        }
    }

    @Test
    void averagingWithOnePartitionEqualsTheSynchronousPath() {
        // SGD: the update is linear in the gradient, so the paths' different float rounding stays at rounding size
        // (the gradient path scales each loss term by its normaliser's share of the counted tokens and the driver
        // divides by their sum; AdamW's per-element normalisation would lift that to ~1e-6 where gradients are ~0)
        TrainingState synchronous = twoEpochsOfThreeMinibatches(false, 1, "sgd");
        TrainingState averaged = twoEpochsOfThreeMinibatches(true, 1, "sgd");
        assertEquals(6, synchronous.step());
        assertEquals(synchronous.step(), averaged.step());
        assertArrayEquals(synchronous.params(), averaged.params(), 1e-7f);
    }

    @Test
    void ppoRolloutsCarryValuesAndItsUpdateTrainsTheHead() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        RlWorkerSetup setup = RlFixtures.setup(true, "adamw");
        float[] policy = RlFixtures.randomPolicy(3);
        float[] params = java.util.Arrays.copyOf(policy, policy.length + RlFixtures.MODEL.width() + 1);
        List<Rollout> rollouts = rollouts(setup, params, RlFixtures.promptRecords(4), 1);
        for (Rollout r : rollouts) {
            assertEquals(r.completionIds().length, r.values().length);
            for (float v : r.values()) {
                assertEquals(0f, v, "a fresh head values everything at zero");
            }
        }
        BatchBuilder.Built built = BatchBuilder.build(rollouts, setup.algorithm(), 0.05);
        List<UpdateRow> rows = UpdateStage.assignMinibatches(built.rows(), 1, 1, 1, 1);
        TrainingState start = new TrainingState(params, new float[2][params.length], 0);
        UpdateStage.Report report;
        UpdateStage stage = new UpdateStage(context, false, 2, LrSchedule.constant(1e-2), "test");
        report = stage.run(setup, rows, start, 1, 1, 1.0, 1.0, 1);
        assertTrue(report.valueLoss() > 0, "returns are non-zero, values zero: the value loss is positive");
        float headWeight = 0;
        for (int i = policy.length; i < params.length; i++) {
            headWeight = Math.max(headWeight, Math.abs(report.state().params()[i]));
        }
        assertTrue(headWeight > 0, "the value head trained");
    }

    @Test
    void modelRewardAppliesItsHeadToTheLastHiddenState() throws Exception {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        float[] params = RlFixtures.randomPolicy(8);
        float[] head = new float[RlFixtures.MODEL.width()];
        Random random = new Random(2);
        for (int i = 0; i < head.length; i++) {
            head[i] = (float) random.nextGaussian();
        }
        ByteTokenizer tokenizer = new ByteTokenizer();
        ModelReward reward = ModelReward.of(context, RlFixtures.MODEL, params, head, tokenizer, RlFixtures.ENGINE);
        RewardInput input = new RewardInput("What is 2 + 3? ", "#### 5", "", 6, false);
        double score = reward.score(input);
        try (Transformer model = new Transformer(RlFixtures.MODEL, RlFixtures.ENGINE)) {
            TrainingState.copyInto(params, model.parameters().params());
            int[] text = tokenizer.encode("What is 2 + 3? #### 5");
            int[] ids = new int[text.length + 1];
            ids[0] = tokenizer.bosId();
            System.arraycopy(text, 0, ids, 1, text.length);
            int[] targets = new int[ids.length];
            java.util.Arrays.fill(targets, -1);
            model.forward(ids, targets, 1, ids.length);
            INDArray last = model.finalHidden().getRow(ids.length - 1);
            double expected = 0;
            for (int c = 0; c < head.length; c++) {
                expected += head[c] * last.getDouble(c);
            }
            assertEquals(expected, score, 1e-5);
        }
        assertTrue(score != reward.score(new RewardInput("What is 2 + 3? ", "#### 6", "", 6, false)),
                "a different completion scores differently");
    }
    /**
     * Batched scoring (right-padded forward passes, several when the sequences exceed one batch's positions) gives
     * each input the value the one-sequence pass gives it: short, long, cut to the context, and in any order.
     */
    @Test
    void modelRewardScoresABatchAsItScoresEachSequence() throws Exception {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        float[] head = new float[RlFixtures.MODEL.width()];
        Random random = new Random(4);
        for (int i = 0; i < head.length; i++) {
            head[i] = (float) random.nextGaussian();
        }
        ModelReward reward = ModelReward.of(context, RlFixtures.MODEL, RlFixtures.randomPolicy(9), head,
                new ByteTokenizer(), RlFixtures.ENGINE);
        java.util.List<RewardInput> inputs = new java.util.ArrayList<>();
        for (int i = 0; i < 150; i++) {
            String completion = "x".repeat(random.nextInt(RlFixtures.MODEL.maxSeqLen() + 20)) + i;
            inputs.add(new RewardInput("What is " + i + "? ", completion, "", completion.length(), false));
        }
        assertTrue(150L * RlFixtures.MODEL.maxSeqLen() / 2 > ModelReward.BATCH_TOKENS, "several batches");
        double[] batched = reward.scoreAll(inputs);
        for (int i = 0; i < inputs.size(); i++) {
            assertEquals(reward.score(inputs.get(i)), batched[i], 1e-5, "input " + i);
        }
    }
}
