package io.whetstone.jobs.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.rewards.RewardInput;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.config.PreferenceDataConfig;
import io.whetstone.jobs.config.RlConfig;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.rl.RlJob;
import io.whetstone.jobs.rl.RlResult;
import io.whetstone.jobs.rollout.ModelReward;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A Bradley-Terry reward model trained on Spark from a small SFT model, on pairs of an answer in the task's
 * format and one outside it: exported in the sequence-classification layout, read back as RL's model reward with
 * the rewards it had in training, ranking the pairs; eval-rm scores them; the reward model then scores the
 * preference-data job's samples and is the reward of a GRPO run.
 */
class RewardModelJobTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    private static SftResult policy;
    private static Path pairs;
    private static DpoResult reward;

    @BeforeAll
    static void trainARewardModel() throws IOException {
        Path sftData = TestData.write(shared, "sft.jsonl", TestData.promptCompletionLines(80, 4));
        policy = new SftJob(SparkTestSession.get(), SftConfig.load(null, TestData.tinySft(sftData,
                shared.resolve("sft")))).run();
        List<String> lines = new ArrayList<>();
        for (TaskExample example : new ArithmeticTask(1, 2, false, 9).generate(ArithmeticTask.Split.TRAIN, 40)) {
            ObjectNode pair = JSON.createObjectNode();
            pair.put("prompt", example.question() + " ");
            pair.put("chosen", "#### " + example.answer());
            pair.put("rejected", "= " + example.answer() + " (maybe)");
            lines.add(pair.toString());
        }
        pairs = TestData.write(shared, "pairs.jsonl", lines);
        reward = new DpoJob(SparkTestSession.get(), DpoConfig.load(null, List.of("preference.loss=bradley_terry",
                "run.dir=" + shared.resolve("rm").toUri(), "data.path=" + pairs.toUri(), "data.seq_len=48",
                "model.init=" + policy.checkpoint(), "train.rounds=12", "train.mode=gradient",
                "train.averaging_frequency=1", "train.batch_size_per_worker=8", "train.lr=0.01", "train.warmup_steps=0",
                "spark.partitions=2", "spark.threads_per_task=1", "checkpoint.every_rounds=6"))).run();
    }

    private static ModelReward load() {
        SparkSession spark = SparkTestSession.get();
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return ModelReward.load(context, new HadoopFiles(context.hadoopConfiguration()), reward.rewardModel(),
                new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1));
    }

    /**
     * A training row is scored at its last trained input position: for a row of BOS + prompt + completion + EOS with
     * the completion and EOS trained, that is the completion's last token, the position RL's string scoring reads.
     */
    @Test
    void aRowIsScoredWhereTheStringScoringReadsTheSameTokens() {
        ModelReward model = load();
        String prompt = "What is 2 + 3? ";
        String completion = "#### 5";
        int[] promptIds = model.tokenizer().encode(prompt);
        int[] completionIds = model.tokenizer().encode(completion);
        org.junit.jupiter.api.Assumptions.assumeTrue(java.util.Arrays.equals(model.tokenizer().encode(prompt
                + completion), java.util.stream.IntStream.concat(java.util.Arrays.stream(promptIds),
                java.util.Arrays.stream(completionIds)).toArray()), "the byte tokenizer splits at the boundary");
        int length = 1 + promptIds.length + completionIds.length + 1 + 3; // then three pad ids
        int[] ids = new int[length];
        boolean[] mask = new boolean[length];
        ids[0] = model.tokenizer().bosId();
        System.arraycopy(promptIds, 0, ids, 1, promptIds.length);
        System.arraycopy(completionIds, 0, ids, 1 + promptIds.length, completionIds.length);
        int eos = 1 + promptIds.length + completionIds.length;
        ids[eos] = model.tokenizer().eosId();
        for (int t = 1 + promptIds.length; t <= eos; t++) {
            mask[t] = true;
        }
        double row = model.scoreRow(new io.whetstone.datasets.pack.PackedSequence(ids, mask, 1));
        double text = model.score(new RewardInput(prompt, completion, "", 0, false));
        assertEquals(text, row, 1e-6);
    }

    @Test
    void theExportedRewardModelRanksThePairsAsInTraining() throws IOException {
        assertTrue(reward.lastLoss() < 0.2 * reward.firstLoss(), reward.firstLoss() + " -> " + reward.lastLoss());
        Path export = Path.of(URI.create(reward.rewardModel()));
        JsonNode config = JSON.readTree(export.resolve("config.json").toFile());
        assertEquals("GPT2ForSequenceClassification", config.get("architectures").get(0).asText());
        assertEquals(1, config.get("num_labels").asInt());
        assertTrue(Files.exists(export.resolve("_SUCCESS")));

        RewardModelEvaluation evaluation = RewardModelEvaluation.evaluate(SparkTestSession.get(),
                pairs.toUri().toString(), false, load(), 2);
        assertEquals(40, evaluation.pairs());
        assertTrue(evaluation.accuracy() >= 0.95, "pairwise accuracy " + evaluation.accuracy());
        // the reward the job trained (the score token's logit after the last token) is the one RL reads
        double trainingMargin = (double) reward.lastRound().get("reward_margin");
        assertTrue(trainingMargin > 0 && evaluation.meanGap() > 0, trainingMargin + " vs " + evaluation.meanGap());

        java.io.PrintStream out = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        int code;
        try {
            code = io.whetstone.jobs.cli.Whetstone.execute("eval-rm", "--model", reward.rewardModel(), "--data",
                    pairs.toUri().toString(), "--out", shared.resolve("rewards.jsonl").toUri().toString());
        } finally {
            System.setOut(out);
        }
        String text = printed.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("40 pairs  accuracy " + String.format("%.3f", evaluation.accuracy())), text);
        assertEquals(40, Files.readAllLines(shared.resolve("rewards.jsonl")).size());
    }

    /** A reward model as low-rank adapters on the frozen SFT model: only they train; the export is the merged model. */
    @Test
    void aLoraRewardModelTrainsItsAdaptersAndExportsTheMergedModel() throws IOException {
        DpoResult lora = new DpoJob(SparkTestSession.get(), DpoConfig.load(null, List.of("preference.loss=bradley_terry",
                "run.dir=" + shared.resolve("rm-lora").toUri(), "data.path=" + pairs.toUri(), "data.seq_len=48",
                "model.init=" + policy.checkpoint(), "lora.enabled=true", "lora.rank=4", "train.rounds=12",
                "train.mode=gradient", "train.averaging_frequency=1", "train.batch_size_per_worker=8", "train.lr=0.02",
                "train.warmup_steps=0", "spark.partitions=2", "spark.threads_per_task=1",
                "checkpoint.every_rounds=6"))).run();
        assertTrue(lora.lastLoss() < 0.5 * lora.firstLoss(), lora.firstLoss() + " -> " + lora.lastLoss());
        JsonNode start = JSON.readTree(Files.readAllLines(Path.of(URI.create(lora.runDir())).resolve("metrics.jsonl"))
                .get(0));
        long trainable = start.get("params").asLong();
        assertTrue(trainable > 0 && trainable < lora.params().length / 10, "only the adapters train: " + trainable
                + " of " + lora.params().length);
        ModelReward merged = ModelReward.load(JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext()),
                new HadoopFiles(SparkTestSession.get().sparkContext().hadoopConfiguration()), lora.rewardModel(),
                new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1));
        RewardModelEvaluation evaluation = RewardModelEvaluation.evaluate(SparkTestSession.get(),
                pairs.toUri().toString(), false, merged, 2);
        assertTrue(evaluation.accuracy() >= 0.9, "pairwise accuracy " + evaluation.accuracy());
    }

    @Test
    void theRewardModelScoresPreferenceDataAndRewardsGrpo(@TempDir Path dir) throws IOException {
        List<String> prompts = new ArrayList<>();
        for (TaskExample example : new ArithmeticTask(1, 2, false, 11).generate(ArithmeticTask.Split.TRAIN, 6)) {
            prompts.add(JSON.createObjectNode().put("prompt", example.question() + " ").put("reference",
                    "#### " + example.answer()).toString());
        }
        Path promptFile = TestData.write(dir, "prompts.jsonl", prompts);
        String scorer = "[{name: rm, type: model, path: '" + reward.rewardModel() + "'}]";
        PreferenceDataJob.Result data = new PreferenceDataJob(SparkTestSession.get(), PreferenceDataConfig.load(null,
                List.of("policy.path=" + policy.checkpoint(), "data.path=" + promptFile.toUri(),
                        "output.path=" + dir.resolve("pairs").toUri(), "run.dir=" + dir.resolve("run").toUri(),
                        "sampling.samples_per_prompt=4", "sampling.max_new_tokens=12", "pairs.min_gap=0.01",
                        "pairs.keep_unfinished=true", "scoring.components=" + scorer, "spark.threads_per_task=1")))
                .run();
        List<String> lines = Files.readAllLines(Path.of(URI.create(data.data())));
        assertFalse(lines.isEmpty());
        ModelReward model = load();
        for (String line : lines) {
            JsonNode pair = JSON.readTree(line);
            double chosen = model.score(new RewardInput(pair.get("prompt").asText(), pair.get("chosen").asText(), "", 0,
                    false));
            double rejected = model.score(new RewardInput(pair.get("prompt").asText(), pair.get("rejected").asText(),
                    "", 0, false));
            assertTrue(chosen > rejected, "the reward model prefers the chosen sample: " + line);
        }

        RlResult grpo = new RlJob(SparkTestSession.get(), RlConfig.load(null, List.of("run.dir="
                + dir.resolve("grpo").toUri(), "model.init=" + policy.checkpoint(), "data.path=" + promptFile.toUri(),
                "algorithm.name=grpo", "rollout.prompts_per_iteration=4", "rollout.group_size=4",
                "rollout.max_new_tokens=12", "rollout.decode_batch=8", "rollout.micro_batch=8",
                "rewards.components=" + scorer, "train.iterations=1", "spark.partitions=2", "spark.threads_per_task=1")))
                .run();
        assertEquals(1, grpo.iterationsRun());
        assertTrue(Double.isFinite(grpo.firstRewardMean()), "a reward model's mean reward: " + grpo.firstRewardMean());
    }
}
