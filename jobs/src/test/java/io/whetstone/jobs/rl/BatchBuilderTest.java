package io.whetstone.jobs.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.config.ConfigLoader;
import io.whetstone.jobs.config.RlConfig;
import io.whetstone.models.rl.Advantages;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Advantages, dynamic sampling and failure handling on the driver, on hand-made rollouts. */
class BatchBuilderTest {

    private static RlConfig.Algorithm algorithm(String... overrides) {
        List<String> settings = new ArrayList<>(List.of("model.init=x", "data.path=x"));
        settings.addAll(List.of(overrides));
        return ConfigLoader.load(RlConfig.class, RlConfig.DEFAULTS, null, settings).algorithm();
    }

    private static Rollout rollout(long prompt, int sample, double reward, String failure, int length) {
        float[] lp = new float[length];
        java.util.Arrays.fill(lp, -1f);
        float[] ref = new float[length];
        java.util.Arrays.fill(ref, -1.5f);
        float[] values = new float[length];
        java.util.Arrays.fill(values, 0.25f);
        return new Rollout(prompt, "p" + prompt, sample, "q", "c", "r", new int[] {1, 2}, new int[length], lp, lp, lp,
                ref, values, new double[] {reward}, failure == null ? reward : Double.NaN, failure, "stop", 0, 0, 0);
    }

    /** {@code r} as cut at max_new_tokens. */
    private static Rollout truncated(Rollout r) {
        return new Rollout(r.promptIndex(), r.promptId(), r.sample(), r.prompt(), r.completion(), r.reference(),
                r.promptIds(), r.completionIds(), r.samplerLogProbs(), r.decoderLogProbs(), r.oldLogProbs(),
                r.refLogProbs(), r.values(), r.rewards(), r.reward(), null, "length", 0, 0, 0);
    }

    /** Loading the algorithm with {@code settings} fails with a message naming {@code key}. */
    private static void assertConfigError(String key, String... settings) {
        ConfigException error = assertThrows(ConfigException.class, () -> algorithm(settings));
        assertTrue(error.getMessage().contains(key), error.getMessage());
    }

    @Test
    void groupAdvantagesDropFlatGroupsAndFailedSamples() {
        List<Rollout> rollouts = List.of(
                rollout(0, 0, 1, null, 3), rollout(0, 1, 0, null, 2), rollout(0, 2, 0, "correct: boom", 2),
                rollout(1, 0, 1, null, 4), rollout(1, 1, 1, null, 4),
                rollout(2, 0, 0, "x", 1), rollout(2, 1, 1, null, 1));
        BatchBuilder.Built built = BatchBuilder.build(rollouts, algorithm(), 0);
        assertEquals(3, built.groups());
        assertEquals(1, built.zeroVarianceGroups(), "prompt 1's rewards all agree");
        assertEquals(2, built.droppedGroups(), "prompt 1 (flat) and prompt 2 (one sample left)");
        assertEquals(2, built.failedSamples());
        assertEquals(2, built.rows().size());
        assertArrayEquals(new boolean[] {true, true, false, false, false, false, false}, built.used());
        double[] expected = Advantages.grpo(new double[] {1, 0}, true, 1e-4);
        assertEquals(expected[0], built.advantages()[0], 1e-12);
        assertEquals(expected[1], built.advantages()[1], 1e-12);
        assertEquals(3, built.rows().get(0).advantages().length, "one advantage per completion token");
        assertEquals((float) expected[0], built.rows().get(0).advantages()[2]);
    }

    @Test
    void withoutDynamicSamplingFlatGroupsStayWithZeroAdvantage() {
        List<Rollout> rollouts = List.of(rollout(1, 0, 1, null, 4), rollout(1, 1, 1, null, 4));
        BatchBuilder.Built built = BatchBuilder.build(rollouts, algorithm("algorithm.dynamic_sampling=false"), 0);
        assertEquals(1, built.zeroVarianceGroups());
        assertEquals(0, built.droppedGroups());
        assertEquals(2, built.rows().size());
        assertEquals(0f, built.rows().get(0).advantages()[0]);
    }

    @Test
    void theSurplusOfARefilledBatchIsLeftOutAndCounted() {
        List<Rollout> rollouts = List.of(
                rollout(0, 0, 1, null, 2), rollout(0, 1, 0, null, 2),
                rollout(1, 0, 1, null, 2), rollout(1, 1, 1, null, 2),
                rollout(2, 0, 0, null, 2), rollout(2, 1, 1, null, 2),
                rollout(3, 0, 0, "x", 2), rollout(3, 1, 1, null, 2));
        RlConfig.Algorithm grpo = algorithm();
        assertEquals(List.of(0L, 2L), BatchBuilder.signalGroups(rollouts, grpo),
                "prompt 1 is flat, prompt 3 has one scored sample");
        assertEquals(List.of(0L, 1L, 2L), BatchBuilder.signalGroups(rollouts,
                algorithm("algorithm.dynamic_sampling=false")), "without dynamic sampling a flat group is used");

        BatchBuilder.Built built = BatchBuilder.build(rollouts, grpo, 0, java.util.Set.of(2L));
        assertEquals(1, built.surplusGroups());
        assertEquals(2, built.droppedGroups());
        assertArrayEquals(new boolean[] {true, true, false, false, false, false, false, false}, built.used());
        assertEquals(0, built.advantages()[4]);
        assertEquals(2, built.rows().size());
        // the kept group's advantages are its own, whatever else was left out
        assertArrayEquals(BatchBuilder.build(rollouts.subList(0, 2), grpo, 0).advantages(),
                java.util.Arrays.copyOf(built.advantages(), 2), 0);
    }

    /** DAPO's overlong filtering: a truncated completion shapes its group's advantages but trains no token. */
    @Test
    void truncatedCompletionsCountInTheirGroupButAreMaskedWhenAsked() {
        List<Rollout> rollouts = new ArrayList<>(List.of(rollout(0, 0, 1, null, 2), rollout(0, 1, 0, null, 2),
                rollout(0, 2, 0, null, 2)));
        rollouts.set(2, truncated(rollouts.get(2)));
        BatchBuilder.Built plain = BatchBuilder.build(rollouts, algorithm(), 0);
        BatchBuilder.Built masked = BatchBuilder.build(rollouts,
                algorithm("algorithm.mask_truncated_completions=true"), 0);
        assertEquals(0, plain.maskedTruncated());
        assertEquals(3, plain.rows().size());
        assertEquals(1, masked.maskedTruncated());
        assertArrayEquals(new boolean[] {true, true, false}, masked.used());
        assertEquals(2, masked.rows().size());
        // the kept samples' advantages are the three-sample group's, the truncated one included in mean and std
        double[] group = Advantages.grpo(new double[] {1, 0, 0}, true, 1e-4);
        assertEquals(group[0], masked.advantages()[0], 1e-12);
        assertEquals(group[1], masked.advantages()[1], 1e-12);
        assertEquals(0, masked.advantages()[2], "an unused row's advantage is 0 in the rollout table");
        List<Rollout> allCut = rollouts.stream().map(BatchBuilderTest::truncated).toList();
        assertEquals(List.of(0L), BatchBuilder.signalGroups(allCut, algorithm()));
        assertEquals(List.of(), BatchBuilder.signalGroups(allCut, algorithm("algorithm.mask_truncated_completions=true")),
                "a group that trains no token does not count toward a refilled batch");
        assertConfigError("mask_truncated_completions", "algorithm.name=ppo",
                "algorithm.mask_truncated_completions=true");
    }

    @Test
    void theDualClipIsAboveOneOrOffAndTheRatioLevelIsNamed() {
        assertEquals(3.0, algorithm("algorithm.clip_ratio_c=3").clipRatioC());
        assertEquals(0.0, algorithm().clipRatioC(), "off by default");
        assertConfigError("algorithm.clip_ratio_c", "algorithm.clip_ratio_c=0.8");
        assertEquals("sequence", algorithm("algorithm.importance_sampling_level=sequence").importanceSamplingLevel());
        assertConfigError("importance_sampling_level", "algorithm.importance_sampling_level=row");
        assertConfigError("importance_sampling_level", "algorithm.importance_sampling_level=sequence",
                "algorithm.name=ppo");
    }

    @Test
    void refillingNeedsGrpoWithDynamicSampling() {
        assertEquals(3, algorithm("algorithm.dynamic_sampling_max_batches=3").dynamicSamplingMaxBatches());
        assertConfigError("dynamic_sampling_max_batches", "algorithm.dynamic_sampling_max_batches=0");
        assertConfigError("dynamic_sampling_max_batches", "algorithm.dynamic_sampling_max_batches=2",
                "algorithm.dynamic_sampling=false");
        assertConfigError("dynamic_sampling_max_batches", "algorithm.dynamic_sampling_max_batches=2",
                "algorithm.name=ppo");
    }

    @Test
    void refillPromptsAreOthersAndDependOnlyOnTheirArguments() {
        java.util.Set<Long> first = RlJob.choose(20, 6, 3, 1);
        java.util.Set<Long> more = RlJob.chooseMore(20, 6, 3, 1, 1, first);
        assertEquals(6, more.size());
        assertTrue(more.stream().noneMatch(first::contains), more + " overlaps " + first);
        assertEquals(more, RlJob.chooseMore(20, 6, 3, 1, 1, first));
        java.util.Set<Long> taken = new java.util.HashSet<>(first);
        taken.addAll(more);
        java.util.Set<Long> third = RlJob.chooseMore(20, 6, 3, 2, 1, taken);
        assertEquals(6, third.size());
        assertTrue(third.stream().noneMatch(taken::contains));
        taken.addAll(third);
        assertEquals(2, RlJob.chooseMore(20, 6, 3, 3, 1, taken).size(), "only two prompts are left");
        taken.addAll(RlJob.chooseMore(20, 6, 3, 3, 1, taken));
        assertTrue(RlJob.chooseMore(20, 6, 3, 4, 1, taken).isEmpty());
    }

    @Test
    void rlooUsesTheOtherSamplesMean() {
        List<Rollout> rollouts = List.of(rollout(0, 0, 1, null, 1), rollout(0, 1, 0, null, 1), rollout(0, 2, 0, null, 1));
        BatchBuilder.Built built = BatchBuilder.build(rollouts, algorithm("algorithm.advantage=rloo"), 0);
        assertArrayEquals(new double[] {1, -0.5, -0.5}, built.advantages(), 1e-12);
    }

    @Test
    void ppoShapesRewardsWithTheKlRunsGaeAndWhitens() {
        List<Rollout> rollouts = List.of(rollout(0, 0, 1, null, 3), rollout(1, 0, 0, null, 2));
        RlConfig.Algorithm ppo = algorithm("algorithm.name=ppo", "algorithm.gamma=1", "algorithm.lambda=1",
                "rollout.group_size=1");
        BatchBuilder.Built built = BatchBuilder.build(rollouts, ppo, 0.1);
        assertEquals(2, built.rows().size());
        UpdateRow first = built.rows().get(0);
        // old - ref = 0.5 per token: token rewards -0.05, -0.05, -0.05 + 1; returns (gamma = lambda = 1) are the
        // reward-to-go: 0.85, 0.9, 0.95
        assertArrayEquals(new float[] {0.85f, 0.9f, 0.95f}, first.returns(), 1e-6f);
        assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f}, first.oldValues());
        double sum = 0;
        int n = 0;
        for (UpdateRow row : built.rows()) {
            for (float a : row.advantages()) {
                sum += a;
                n++;
            }
        }
        assertEquals(0, sum / n, 1e-6, "whitened advantages have mean zero");
        assertFalse(first.refLogProbs().length > 0, "PPO keeps the KL in the reward, not the loss");
        assertTrue(built.advantages()[0] > built.advantages()[1], "the rewarded sequence has the larger advantage");
    }
}
