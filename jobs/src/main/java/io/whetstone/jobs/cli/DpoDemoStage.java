package io.whetstone.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.config.PreferenceDataConfig;
import io.whetstone.jobs.eval.Interval;
import io.whetstone.jobs.eval.TaskEvaluation;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.preference.DpoJob;
import io.whetstone.jobs.preference.DpoResult;
import io.whetstone.jobs.preference.PreferenceDataJob;
import io.whetstone.jobs.preference.RewardModelEvaluation;
import io.whetstone.jobs.rollout.ModelReward;
import org.apache.spark.api.java.JavaSparkContext;
import io.whetstone.models.engine.EngineOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's preference stage: the SFT model samples completions for part of the training problems, the
 * task's verifier scores them, and each problem with a right and a wrong completion gives pairs (right
 * chosen, wrong rejected); DPO-Positive then trains the SFT model on those pairs with the SFT model as the
 * frozen reference. Held-out accuracy before and after, with Wilson intervals, goes to the summary. A reward model
 * trained on the same pairs is scored on pairs from the held-out problems ({@link #rewardModel}).
 */
final class DpoDemoStage {

    private static final Logger LOG = LoggerFactory.getLogger(DpoDemoStage.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Training problems the SFT model samples for pairs. */
    static final int PROMPTS = 4000;

    /**
     * The pair job's settings: 4 samples per problem at temperature 0.7, every right answer against every wrong
     * one (at most 4 pairs per problem). The README's preference section has what other settings gave.
     */
    static final List<String> PAIRS = List.of("sampling.samples_per_prompt=4", "sampling.max_new_tokens=110",
            "sampling.temperature=0.7", "sampling.decode_batch=64", "sampling.chunk_prompts=2000",
            "scoring.components=[{name: correct, type: task}]", "pairs.mode=all_pairs", "pairs.max_per_prompt=4",
            "pairs.min_gap=0.5", "spark.partitions=2");

    /**
     * The preference optimisation's settings: DPO-Positive (DPO with a penalty when the chosen answer's log-prob
     * falls below the reference's, weight 5), 120 synchronous steps of 64 pairs, no NLL term; user overrides come
     * after these. Plain DPO lowers greedy accuracy on these pairs, which differ in a digit (likelihood
     * displacement); the README's preference section has the measurements.
     */
    static final List<String> DPO = List.of("data.seq_len=160", "preference.loss=dpop", "preference.beta=0.1",
            "preference.dpop_lambda=5.0", "train.mode=gradient", "train.rounds=120", "train.averaging_frequency=1",
            "train.batch_size_per_worker=32", "train.lr=1e-4", "train.warmup_steps=4", "train.min_lr_ratio=0.1",
            "train.weight_decay=0.0", "spark.partitions=2", "checkpoint.every_rounds=60", "checkpoint.keep_last=1");

    /**
     * The reward model's settings: Bradley-Terry from the SFT model on the same pairs, 80 synchronous steps of
     * 64 pairs; scored on pairs sampled the same way from the held-out problems.
     */
    static final List<String> REWARD_MODEL = List.of("preference.loss=bradley_terry", "data.seq_len=160",
            "train.mode=gradient", "train.rounds=80", "train.averaging_frequency=1", "train.batch_size_per_worker=32",
            "train.lr=1e-4", "train.warmup_steps=4", "train.min_lr_ratio=0.1", "train.weight_decay=0.0",
            "spark.partitions=2", "checkpoint.every_rounds=40", "checkpoint.keep_last=1");

    private DpoDemoStage() {
    }

    /**
     * A reward model trained on the DPO stage's pairs ({@code trainPairs}) from the SFT model, and its pairwise
     * accuracy on pairs from the held-out problems (sampled and scored as the training pairs were).
     */
    static void rewardModel(SparkSession spark, HadoopFiles files, String root, String sftCheckpoint,
                            String trainPairs, List<String> pairOverrides, List<String> rmOverrides, int partitions,
                            EngineOptions engine, ObjectNode stage) {
        long start = System.nanoTime();
        List<String> heldoutSettings = new ArrayList<>(PAIRS);
        heldoutSettings.addAll(List.of("policy.path=" + sftCheckpoint, "data.path=" + new Path(root,
                "data/heldout.jsonl"), "output.path=" + new Path(root, "preference-data-heldout"),
                "run.dir=" + new Path(root, "preference-data-heldout-run")));
        heldoutSettings.addAll(pairOverrides);
        PreferenceDataJob.Result heldout = new PreferenceDataJob(spark, PreferenceDataConfig.load(null,
                heldoutSettings)).run();
        List<String> settings = new ArrayList<>(REWARD_MODEL);
        settings.addAll(List.of("model.init=" + sftCheckpoint, "data.path=" + trainPairs,
                "run.dir=" + new Path(root, "reward-model")));
        settings.addAll(rmOverrides);
        long trainStart = System.nanoTime();
        DpoResult result = new DpoJob(spark, DpoConfig.load(null, settings)).run();
        double trainSeconds = (System.nanoTime() - trainStart) / 1e9;
        ModelReward reward = ModelReward.load(JavaSparkContext.fromSparkContext(spark.sparkContext()), files,
                result.rewardModel(), engine);
        RewardModelEvaluation evaluation = RewardModelEvaluation.evaluate(spark, heldout.data(), false, reward,
                partitions);
        StringBuilder rewards = new StringBuilder();
        for (RewardModelEvaluation.Scored pair : evaluation.scored()) {
            rewards.append(JSON.createObjectNode().put("id", pair.id()).put("chosen", pair.chosen())
                    .put("rejected", pair.rejected())).append('\n');
        }
        files.writeBytes(new Path(root, "eval/reward_model_heldout.jsonl"),
                rewards.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Interval interval = Interval.wilson(Math.round(evaluation.accuracy() * evaluation.pairs()), evaluation.pairs());
        stage.put("name", "reward_model");
        stage.put("heldout_pair_accuracy", evaluation.accuracy());
        stage.putArray("heldout_pair_ci95").add(interval.low()).add(interval.high());
        stage.put("heldout_pairs", evaluation.pairs());
        stage.put("heldout_mean_reward_gap", evaluation.meanGap());
        stage.put("train_pairs", result.corpus().units());
        stage.put("train_pair_accuracy_last_round", (double) result.lastRound().getOrDefault("preference_accuracy",
                Double.NaN));
        stage.put("reward_model", result.rewardModel());
        stage.put("rounds", result.roundsRun());
        stage.put("first_loss", result.firstLoss());
        stage.put("final_loss", result.lastLoss());
        stage.put("train_seconds", trainSeconds);
        stage.put("seconds", (System.nanoTime() - start) / 1e9);
        System.out.println(String.format("reward_model: held-out pair accuracy %.1f%% (%d pairs from held-out "
                        + "problems; 95%% interval [%.1f, %.1f]), trained on %d pairs, %.1f min",
                100 * evaluation.accuracy(), evaluation.pairs(), 100 * interval.low(), 100 * interval.high(),
                result.corpus().units(), (System.nanoTime() - start) / 60e9));
    }

    /** Runs the stage from {@code sftCheckpoint} (held-out accuracy {@code before}) and fills {@code stage}. */
    static DpoResult run(SparkSession spark, HadoopFiles files, String root, List<TaskExample> train,
                         List<TaskExample> heldout, String sftCheckpoint, TaskEvaluation.Result before,
                         EngineOptions engine, int partitions, List<String> pairOverrides, List<String> dpoOverrides,
                         ObjectNode stage) {
        long start = System.nanoTime();
        String prompts = new Path(root, "data/preference_prompts.jsonl").toString();
        DemoCommand.writeJsonl(files, prompts, train.subList(0, Math.min(PROMPTS, train.size())));
        List<String> pairSettings = new ArrayList<>(PAIRS);
        pairSettings.addAll(List.of("policy.path=" + sftCheckpoint, "data.path=" + prompts,
                "output.path=" + new Path(root, "preference-data"), "run.dir=" + new Path(root, "preference-data-run")));
        pairSettings.addAll(pairOverrides);
        PreferenceDataJob.Result pairs = new PreferenceDataJob(spark, PreferenceDataConfig.load(null, pairSettings))
                .run();
        double pairSeconds = (System.nanoTime() - start) / 1e9;

        List<String> dpoSettings = new ArrayList<>(DPO);
        dpoSettings.addAll(List.of("model.init=" + sftCheckpoint, "data.path=" + pairs.data(),
                "run.dir=" + new Path(root, "dpo")));
        dpoSettings.addAll(dpoOverrides);
        long dpoStart = System.nanoTime();
        DpoResult result = new DpoJob(spark, DpoConfig.load(null, dpoSettings)).run();
        double dpoSeconds = (System.nanoTime() - dpoStart) / 1e9;

        TaskEvaluation.Result after = TaskEvaluation.evaluate(spark, result.config(), result.params(),
                result.tokenizer(), heldout, ArithmeticTask.verifier(), DemoCommand.MAX_NEW_TOKENS, partitions, engine,
                100);
        Interval beforeInterval = Interval.wilson(before.correct(), before.total());
        Interval afterInterval = Interval.wilson(after.correct(), after.total());
        LOG.info("Held-out accuracy after DPO: {}/{}", after.correct(), after.total());
        stage.put("name", "dpo");
        stage.put("heldout_accuracy_before", before.accuracy());
        stage.put("heldout_accuracy_after", after.accuracy());
        stage.putArray("heldout_ci95_before").add(beforeInterval.low()).add(beforeInterval.high());
        stage.putArray("heldout_ci95_after").add(afterInterval.low()).add(afterInterval.high());
        stage.put("intervals_disjoint", beforeInterval.disjointFrom(afterInterval));
        stage.put("checkpoint", result.checkpoint());
        stage.put("heldout_examples", after.total());
        stage.put("loss", dpoSettingValue(dpoSettings, "preference.loss"));
        stage.put("pairs", result.corpus().units());
        ObjectNode pairStats = stage.putObject("pair_stats");
        for (Map.Entry<String, Object> entry : pairs.stats().entrySet()) {
            pairStats.set(entry.getKey(), JSON.valueToTree(entry.getValue()));
        }
        stage.put("rounds", result.roundsRun());
        stage.put("first_loss", result.firstLoss());
        stage.put("final_loss", result.lastLoss());
        ObjectNode last = stage.putObject("last_round");
        result.lastRound().forEach((key, value) -> last.set(key, JSON.valueToTree(value)));
        stage.put("pair_seconds", pairSeconds);
        stage.put("dpo_seconds", dpoSeconds);
        stage.put("seconds", (System.nanoTime() - start) / 1e9);
        System.out.println(String.format("dpo: held-out accuracy %.1f%% -> %.1f%% (%d problems; 95%% intervals "
                        + "[%.1f, %.1f] and [%.1f, %.1f]), %d pairs, %.1f min", 100 * before.accuracy(),
                100 * after.accuracy(), after.total(), 100 * beforeInterval.low(), 100 * beforeInterval.high(),
                100 * afterInterval.low(), 100 * afterInterval.high(), result.corpus().units(),
                (System.nanoTime() - start) / 60e9));
        return result;
    }

    /** The last value given to {@code key} in {@code settings}. */
    private static String dpoSettingValue(List<String> settings, String key) {
        String value = "";
        for (String setting : settings) {
            if (setting.startsWith(key + "=")) {
                value = setting.substring(key.length() + 1);
            }
        }
        return value;
    }
}
