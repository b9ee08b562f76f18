package io.whetstone.jobs.rl;

import io.whetstone.jobs.config.InjectedFailure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.spark.DataValidationException;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The grpo and ppo jobs end to end on a tiny random policy. */
class RlJobTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> metrics(Path runDir) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }

    private static List<JsonNode> iterations(Path runDir) throws IOException {
        return metrics(runDir).stream().filter(line -> line.has("reward_mean")).toList();
    }

    @Test
    void grpoWritesAuditableRolloutsMetricsAndCheckpoints(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = RlFixtures.prompts(dir, 12, 1);
        List<String> settings = RlFixtures.settings(policy, prompts, dir.resolve("run"), "grpo");
        settings.add("eval.path=" + RlFixtures.prompts(dir, 4, 2).toUri());
        RlResult result = new RlJob(SparkTestSession.get(), RlFixtures.config(settings)).run();

        assertEquals(2, result.iterationsRun());
        assertNull(result.stopReason());
        assertTrue(Files.exists(dir.resolve("run/checkpoints/round-000002/_SUCCESS")));
        assertTrue(Files.exists(dir.resolve("run/checkpoints/round-000002/model.safetensors")));
        assertEquals(4.0, result.evalBefore().get("prompts"));
        assertTrue(result.evalAfter().containsKey("digit"));

        List<JsonNode> lines = iterations(dir.resolve("run"));
        assertEquals(2, lines.size());
        for (String key : List.of("reward_mean", "reward_min", "reward_max", "reward_digit_mean", "reward_correct_max",
                "kl", "entropy", "response_length", "clip_fraction", "zero_variance_fraction", "logprob_mismatch_mean",
                "reward_failures", "completions_per_s", "generation_s", "scoring_s", "logprob_s", "update_s",
                "aggregation_s", "policy_loss", "grad_norm", "eta_s", "rollout_busy_s", "rollout_setup_s",
                "rollout_idle_s", "rss_mb", "peak_rss_mb", "heap_used_mb")) {
            assertTrue(lines.get(1).has(key), "metrics line lacks " + key + ": " + lines.get(1));
        }
        for (JsonNode line : lines) {
            // the stage's wall time is its partitions' work (over the task slots) plus its idle time
            double rollout = line.get("rollout_s").asDouble();
            double busy = line.get("rollout_busy_s").asDouble();
            assertTrue(busy > 0 && busy <= rollout, "busy " + busy + " of " + rollout);
            assertTrue(line.get("rollout_setup_s").asDouble() >= 0);
            assertEquals(rollout - busy, line.get("rollout_idle_s").asDouble(), 1e-9);
            assertTrue(line.get("peak_rss_mb").asLong() >= line.get("rss_mb").asLong());
        }
        assertEquals(16, lines.get(0).get("completions").asInt());
        assertEquals(0.0, lines.get(0).get("kl").asDouble(), 1e-6, "the first rollouts come from the reference");
        assertTrue(lines.get(1).get("kl").asDouble() > 0, "after an update the policy has moved");
        assertTrue(lines.get(0).get("logprob_mismatch_mean").asDouble() < 1e-4);

        Dataset<Row> table = SparkTestSession.get().read().parquet(dir.resolve("run/rollouts/iteration-000001").toString());
        assertEquals(16, table.count());
        Row row = table.orderBy("prompt_index", "sample").first();
        for (String column : List.of("prompt_id", "completion", "tokens", "sampler_logprobs", "reward_digit",
                "reward_correct", "reward", "advantage", "policy_version", "seed")) {
            assertTrue(List.of(table.columns()).contains(column), "rollout table lacks " + column);
        }
        assertEquals(row.getList(row.fieldIndex("tokens")).size(),
                row.getList(row.fieldIndex("sampler_logprobs")).size());
        assertEquals(0L, row.getLong(row.fieldIndex("policy_version")));
        assertEquals(1.0 * row.getDouble(row.fieldIndex("reward_digit"))
                + row.getDouble(row.fieldIndex("reward_correct")), row.getDouble(row.fieldIndex("reward")), 1e-12);
        // written from the executors' rows with the driver's advantages: in (prompt, sample) order, and each
        // row's advantage its group's (reward - mean) over the group's spread
        List<Row> rows = table.collectAsList();
        Map<Long, List<Row>> groups = new java.util.TreeMap<>();
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            groups.computeIfAbsent(r.getLong(r.fieldIndex("prompt_index")), k -> new ArrayList<>()).add(r);
            if (i > 0) {
                Row previous = rows.get(i - 1);
                long p0 = previous.getLong(previous.fieldIndex("prompt_index"));
                long p1 = r.getLong(r.fieldIndex("prompt_index"));
                assertTrue(p0 < p1 || p0 == p1 && previous.getInt(previous.fieldIndex("sample"))
                        < r.getInt(r.fieldIndex("sample")), "rows in (prompt, sample) order");
            }
        }
        int usedRows = 0;
        for (List<Row> group : groups.values()) {
            double mean = group.stream().mapToDouble(r -> r.getDouble(r.fieldIndex("reward"))).average().orElseThrow();
            boolean used = group.get(0).getBoolean(group.get(0).fieldIndex("used"));
            for (Row r : group) {
                double centred = r.getDouble(r.fieldIndex("reward")) - mean;
                double advantage = r.getDouble(r.fieldIndex("advantage"));
                assertEquals(used, r.getBoolean(r.fieldIndex("used")), "a group is used whole");
                assertTrue(used ? Math.signum(centred) == Math.signum(advantage) || Math.abs(centred) < 1e-9
                        : advantage == 0, "advantage " + advantage + " for reward - mean " + centred);
            }
            usedRows += used ? group.size() : 0;
        }
        assertEquals(lines.get(0).get("updated_rows").asInt(), usedRows, "the table's used rows");
    }

    /**
     * The reference kept in bfloat16 (model.frozen_dtype): the first rollouts' KL against it is the rounding's alone
     * (small, not zero), while the policy itself samples and trains in fp32 (its sampler and trainer log-probs agree).
     */
    @Test
    void aHalfPrecisionReferenceOnlyRoundsTheReference(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = RlFixtures.prompts(dir, 12, 1);
        List<String> settings = RlFixtures.settings(policy, prompts, dir.resolve("run"), "grpo");
        settings.add("model.frozen_dtype=bfloat16");
        RlResult result = new RlJob(SparkTestSession.get(), RlFixtures.config(settings)).run();
        assertEquals(2, result.iterationsRun());
        List<JsonNode> lines = iterations(dir.resolve("run"));
        double kl = lines.get(0).get("kl").asDouble();
        assertTrue(kl != 0.0 && Math.abs(kl) < 1e-3, "rounding the reference moves the first KL a little: " + kl);
        assertTrue(lines.get(0).get("logprob_mismatch_mean").asDouble() < 1e-4, "the policy stays fp32");
    }

    @Test
    void ppoCheckpointsItsValueHeadAndResumesFromIt(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = RlFixtures.prompts(dir, 12, 1);
        List<String> settings = RlFixtures.settings(policy, prompts, dir.resolve("run"), "ppo");
        settings.add("algorithm.kl_target=0.01");
        List<String> killed = new ArrayList<>(settings);
        killed.add("debug.fail_after_round=1");
        assertThrows(InjectedFailure.class, () -> new RlJob(SparkTestSession.get(), RlFixtures.config(killed)).run());
        assertTrue(Files.exists(dir.resolve("run/checkpoints/round-000001/trainer_state/extra.safetensors")));

        RlResult resumed = new RlJob(SparkTestSession.get(), RlFixtures.config(settings)).run();
        assertEquals(1, resumed.iterationsRun(), "iteration 2 only, after resuming from iteration 1");
        List<JsonNode> all = metrics(dir.resolve("run"));
        assertTrue(all.stream().anyMatch(line -> line.path("event").asText().equals("resume")));
        List<JsonNode> lines = iterations(dir.resolve("run"));
        assertTrue(lines.get(lines.size() - 1).has("value_loss"));
        double firstCoef = lines.get(0).get("kl_coef").asDouble();
        assertEquals(0.05, firstCoef, 1e-12);
        JsonNode state = JSON.readTree(dir.resolve("run/checkpoints/round-000002/trainer_state/state.json").toFile());
        assertTrue(state.path("extra").path("kl_coef").asDouble() != 0.05, "the adaptive controller moved the KL coefficient");
    }

    @Test
    void aGuardBreachStopsTheRunOrRollsItBack(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = RlFixtures.prompts(dir, 12, 1);
        List<String> stop = RlFixtures.settings(policy, prompts, dir.resolve("stop"), "grpo");
        stop.add("guards.length_max=2");
        RlResult stopped = new RlJob(SparkTestSession.get(), RlFixtures.config(stop)).run();
        assertNotNull(stopped.stopReason());
        assertTrue(stopped.stopReason().contains("mean response length"), stopped.stopReason());
        assertTrue(metrics(dir.resolve("stop")).stream().anyMatch(l -> l.path("event").asText().equals("stopped")));
        assertNull(stopped.checkpoint(), "no checkpoint of a breached state");
        JsonNode end = metrics(dir.resolve("stop")).stream().filter(l -> l.path("event").asText().equals("end"))
                .findFirst().orElseThrow();
        assertTrue(end.get("checkpoint").isNull(), "JSON null, not the string \"null\": " + end);
        assertTrue(end.get("stopped").asText().contains("mean response length"), end.toString());

        List<String> rollback = RlFixtures.settings(policy, prompts, dir.resolve("rollback"), "grpo");
        rollback.add("guards.length_max=2");
        rollback.add("guards.action=rollback");
        rollback.add("guards.max_rollbacks=1");
        RlResult rolled = new RlJob(SparkTestSession.get(), RlFixtures.config(rollback)).run();
        List<JsonNode> lines = metrics(dir.resolve("rollback"));
        assertEquals(0, lines.stream().filter(l -> l.path("event").asText().equals("rollback")).count(),
                "the initial policy breached: no state has passed the guards, so there is none to roll back to");
        assertTrue(rolled.stopReason().contains("nothing to roll back to: no state has passed the guards"),
                rolled.stopReason());
    }

    /**
     * A rollback restores the last state whose own rollouts passed, not the newest checkpoint: with a checkpoint
     * every iteration, the state checkpointed after iteration 1 is the updated policy, and its rollouts (iteration
     * 2) are the ones that breach. The KL guard passes the initial policy (KL 0 to itself) and breaches once it moved.
     */
    @Test
    void aRollbackRestoresTheLastStateWhoseRolloutsPassed(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = RlFixtures.prompts(dir, 12, 1);
        List<String> settings = RlFixtures.settings(policy, prompts, dir.resolve("run"), "grpo");
        settings.addAll(List.of("train.lr=0.01", "guards.kl_max=0.000001", "guards.action=rollback",
                "guards.max_rollbacks=1"));
        // Iteration 1, then a resumed run to 4: the rollback target must survive the restart.
        List<String> firstRun = new java.util.ArrayList<>(settings);
        firstRun.add("train.iterations=1");
        new RlJob(SparkTestSession.get(), RlFixtures.config(firstRun)).run();
        settings.add("train.iterations=4");
        RlResult result = new RlJob(SparkTestSession.get(), RlFixtures.config(settings)).run();

        List<JsonNode> lines = metrics(dir.resolve("run"));
        List<JsonNode> rollbacks = lines.stream().filter(l -> l.path("event").asText().equals("rollback")).toList();
        assertEquals(1, rollbacks.size(), lines.toString());
        assertEquals(2, rollbacks.get(0).get("iteration").asInt());
        assertEquals(0, rollbacks.get(0).get("to_step").asLong(), "back to the initial policy, whose rollouts passed");
        JsonNode first = iterations(dir.resolve("run")).get(0);
        assertTrue(first.get("step").asLong() > 0, "iteration 1 updated the policy");
        JsonNode state = JSON.readTree(dir.resolve("run/checkpoints/round-000001/trainer_state/state.json").toFile());
        assertEquals(0, state.path("extra").path("last_good_step").asLong(-1),
                "the checkpoint keeps the rollback target for the resumed run");
        assertTrue(result.stopReason().contains("after 1 rollbacks"), result.stopReason());
        assertEquals(4, iterations(dir.resolve("run")).size(), "iterations 1-4 ran: rollback at 2, stop at 4");
    }

    @Test
    void failingRewardsAreCountedAndLeftOutNotZeroed(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = dir.resolve("no-reference.jsonl");
        Files.write(prompts, List.of("{\"prompt\": \"What is 1 + 2? \"}", "{\"prompt\": \"What is 3 + 4? \"}"));
        List<String> settings = RlFixtures.settings(policy, prompts, dir.resolve("run"), "grpo");
        settings.add("train.iterations=1");
        RlResult result = new RlJob(SparkTestSession.get(), RlFixtures.config(settings)).run();
        JsonNode line = iterations(dir.resolve("run")).get(0);
        assertEquals(8, line.get("reward_failures").asInt(), "the task reward needs a reference: every call fails");
        assertEquals(0, line.get("updated_rows").asInt());
        Row row = SparkTestSession.get().read().parquet(dir.resolve("run/rollouts/iteration-000001").toString()).first();
        assertTrue(row.getString(row.fieldIndex("reward_failure")).contains("no reference answer"));
        assertTrue(Double.isNaN(row.getDouble(row.fieldIndex("reward"))));
        assertEquals(1, result.iterationsRun());
    }

    @Test
    void badPromptsAndRewardsAreNamedBeforeSampling(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = dir.resolve("bad.jsonl");
        Files.write(prompts, List.of("{\"prompt\": \"fine\"}", "{\"question\": 3}", "{\"prompt\": \"x\", \"extra\": 1}"));
        List<String> settings = RlFixtures.settings(policy, prompts, dir.resolve("run"), "grpo");
        DataValidationException error = assertThrows(DataValidationException.class,
                () -> new RlJob(SparkTestSession.get(), RlFixtures.config(settings)).run());
        assertEquals(2, error.count());
        assertEquals("question", error.examples().get(0).field());
        assertEquals(2, error.examples().get(0).line());
        assertEquals("extra", error.examples().get(1).field());

        List<String> badReward = RlFixtures.settings(policy, RlFixtures.prompts(dir, 4, 1), dir.resolve("run2"), "grpo");
        badReward.add("rewards.components=[{type: length, max_tokens: 4, buffer: 9}]");
        ConfigException config = assertThrows(ConfigException.class,
                () -> new RlJob(SparkTestSession.get(), RlFixtures.config(badReward)).run());
        assertTrue(config.getMessage().contains("rewards.components[0]"), config.getMessage());
        assertThrows(ConfigException.class, () -> RlFixtures.config(List.of("model.init=x", "data.path=x",
                "rollout.temperature=0")));
    }

    /**
     * Dynamic sampling with refills (DAPO): when no group carries a signal, every allowed batch is sampled (other
     * prompts each time) and nothing is updated; with a reward that varies, the update never takes more than
     * prompts_per_iteration groups and stops refilling once it has them. The rollout table holds every batch.
     */
    @Test
    void dynamicSamplingRefillsUpToItsBatchesAndKeepsOnlyABatchOfGroups(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = RlFixtures.prompts(dir, 16, 1);
        List<String> flat = RlFixtures.settings(policy, prompts, dir.resolve("flat"), "grpo");
        flat.addAll(List.of("train.iterations=1", "algorithm.dynamic_sampling_max_batches=3",
                "rewards.components=[{name: never, type: format, pattern: 'QQQQQQQQ', weight: 1.0}]"));
        new RlJob(SparkTestSession.get(), RlFixtures.config(flat)).run();
        JsonNode line = iterations(dir.resolve("flat")).get(0);
        assertEquals(3, line.get("generation_batches").asInt(), line.toString());
        assertEquals(12, line.get("sampled_prompts").asInt());
        assertEquals(48, line.get("completions").asInt());
        assertEquals(0, line.get("updated_rows").asInt());
        Dataset<Row> table = SparkTestSession.get().read().parquet(dir.resolve("flat/rollouts/iteration-000001").toString());
        assertEquals(48, table.count());
        assertEquals(12, table.select("prompt_index").distinct().count(), "three batches of four other prompts");

        List<String> varying = RlFixtures.settings(policy, prompts, dir.resolve("varying"), "grpo");
        varying.addAll(List.of("train.iterations=3", "algorithm.dynamic_sampling_max_batches=4",
                "rewards.components=[{name: seven, type: format, pattern: '7', weight: 1.0}]"));
        new RlJob(SparkTestSession.get(), RlFixtures.config(varying)).run();
        int refilled = 0;
        for (JsonNode it : iterations(dir.resolve("varying"))) {
            int batches = it.get("generation_batches").asInt();
            int groups = it.get("groups").asInt();
            int signal = groups - it.get("dropped_groups").asInt();
            int used = it.get("updated_rows").asInt() / 4;
            assertEquals(4 * batches, it.get("sampled_prompts").asInt(), it.toString());
            assertEquals(4 * batches, groups);
            assertEquals(Math.min(4, signal), used, "at most a batch of groups is updated: " + it);
            assertEquals(signal - used, it.get("surplus_groups").asInt());
            assertTrue(batches == 4 || signal >= 4, "refills until four groups carry a signal: " + it);
            assertTrue(batches == 1 || signal - it.get("surplus_groups").asInt() <= 4);
            refilled += batches > 1 ? 1 : 0;
        }
        assertTrue(refilled > 0, "a rare reward ('7' in 12 random bytes) needs refills");
    }

    /** With mask_truncated_completions, no completion cut at max_new_tokens is trained on, and each is counted. */
    @Test
    void truncatedCompletionsAreMaskedFromTheUpdate(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        List<String> settings = RlFixtures.settings(policy, RlFixtures.prompts(dir, 8, 1), dir.resolve("run"), "grpo");
        settings.addAll(List.of("train.iterations=1", "algorithm.mask_truncated_completions=true",
                "algorithm.dynamic_sampling=false", "algorithm.clip_ratio_c=3"));
        new RlJob(SparkTestSession.get(), RlFixtures.config(settings)).run();
        JsonNode line = iterations(dir.resolve("run")).get(0);
        int masked = line.get("masked_truncated").asInt();
        assertTrue(masked > 0, "a random policy runs past 12 tokens: " + line);
        assertEquals(16, line.get("updated_rows").asInt() + masked + 4 * line.get("dropped_groups").asInt(), line.toString());
        Dataset<Row> table = SparkTestSession.get().read().parquet(dir.resolve("run/rollouts/iteration-000001").toString());
        assertEquals(0, table.filter("used AND finish <> 'stop'").count(), "no truncated completion is trained on");
        assertEquals(masked, table.filter("NOT used AND finish <> 'stop'").count());
    }

    @Test
    void replayMixesSftRowsIntoEveryUpdate(@TempDir Path dir) throws IOException {
        Path policy = RlFixtures.policyDir(dir);
        Path prompts = RlFixtures.prompts(dir, 12, 1);
        Path sft = io.whetstone.jobs.TestData.write(dir, "sft.jsonl",
                io.whetstone.jobs.TestData.promptCompletionLines(20, 3));
        List<String> settings = RlFixtures.settings(policy, prompts, dir.resolve("run"), "grpo");
        settings.addAll(List.of("replay.path=" + sft.toUri(), "replay.format=prompt_completion", "replay.fraction=0.5",
                "replay.seq_len=32", "train.mode=averaging"));
        new RlJob(SparkTestSession.get(), RlFixtures.config(settings)).run();
        for (JsonNode line : iterations(dir.resolve("run"))) {
            if (line.get("updated_rows").asInt() > 0) {
                assertEquals(Math.round(0.5 * line.get("updated_rows").asInt()), line.get("replay_rows").asInt());
                assertTrue(line.get("replay_loss").asDouble() > 0, line.toString());
            }
        }
    }
}
