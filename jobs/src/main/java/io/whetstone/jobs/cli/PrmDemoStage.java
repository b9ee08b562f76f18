package io.whetstone.jobs.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.jobs.config.PrmConfig;
import io.whetstone.jobs.config.PrmDataConfig;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.prm.PrmDataJob;
import io.whetstone.jobs.prm.PrmEvaluation;
import io.whetstone.jobs.prm.PrmJob;
import io.whetstone.jobs.prm.ProcessRewardModel;
import io.whetstone.models.engine.EngineOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The demo's process reward model: Monte-Carlo step labels of the SFT model's own solutions (Math-Shepherd) on
 * training problems, with their agreement with the true step labels; a PRM trained on them from the SFT model;
 * its step accuracy and first-error detection on labelled solutions of held-out problems. The tts stage then
 * picks and searches with it.
 */
final class PrmDemoStage {

    /** Training problems labelled, and held-out problems labelled to evaluate the PRM on. */
    static final int TRAIN_PROBLEMS = 1000;
    static final int HELDOUT_PROBLEMS = 200;

    /** Step labels: 4 solutions per problem, 4 rollouts from every step; the built-in task's steps end at ". ". */
    static final List<String> LABELS = List.of("sampling.solutions_per_prompt=4", "sampling.rollouts_per_step=4",
            "sampling.max_new_tokens=" + DemoCommand.MAX_NEW_TOKENS, "sampling.temperature=1.0",
            "sampling.decode_batch=64", "steps.delimiter='. '", "steps.true_labels=true", "answer.format=task");

    /** The PRM: from the SFT model, 300 synchronous steps of 64 solutions on soft labels. */
    static final List<String> TRAIN = List.of("data.labels=soft", "data.seq_len=192", "train.mode=gradient",
            "train.rounds=300", "train.averaging_frequency=1", "train.batch_size_per_worker=32", "train.lr=5e-4",
            "train.warmup_steps=4", "checkpoint.every_rounds=150", "checkpoint.keep_last=1");

    private PrmDemoStage() {
    }

    /** Runs the stage; returns the PRM's directory. */
    static String run(SparkSession spark, HadoopFiles files, String root, List<TaskExample> train,
                      List<TaskExample> heldout, String sftCheckpoint, int partitions, EngineOptions engine,
                      List<String> overrides, ObjectNode stage) {
        String trainQuestions = new Path(root, "data/prm_train.jsonl").toString();
        DemoCommand.writeJsonl(files, trainQuestions, train.subList(0, Math.min(TRAIN_PROBLEMS, train.size())));
        String heldoutQuestions = new Path(root, "data/prm_heldout.jsonl").toString();
        DemoCommand.writeJsonl(files, heldoutQuestions, heldout.subList(0, Math.min(HELDOUT_PROBLEMS, heldout.size())));
        long start = System.nanoTime();
        PrmDataJob.Result labels = labels(spark, root, sftCheckpoint, trainQuestions, "prm-data", partitions, overrides);
        PrmDataJob.Result heldoutLabels = labels(spark, root, sftCheckpoint, heldoutQuestions, "prm-data-heldout",
                partitions, overrides);
        List<String> settings = new ArrayList<>(TRAIN);
        settings.addAll(List.of("data.path=" + labels.data(), "model.init=" + sftCheckpoint,
                "run.dir=" + new Path(root, "prm"), "spark.partitions=" + partitions));
        settings.addAll(overrides.stream().filter(o -> !o.startsWith("sampling.") && !o.startsWith("steps.")).toList());
        PrmJob.Result prm = new PrmJob(spark, PrmConfig.load(null, settings)).run();
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        ProcessRewardModel model = ProcessRewardModel.load(context, files, prm.model(), engine);
        Map<String, Double> evaluation;
        try {
            evaluation = PrmEvaluation.evaluate(context, heldoutLabels.data(), model, partitions);
        } finally {
            model.destroy();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        stage.put("name", "process_reward_model");
        stage.put("model", prm.model());
        stage.put("train_solutions", ((Number) labels.stats().get("solutions")).longValue());
        stage.put("train_steps", ((Number) labels.stats().get("steps")).longValue());
        Object agreement = labels.stats().get("hard_label_accuracy");
        stage.put("label_agreement_with_true_steps", agreement == null ? Double.NaN : ((Number) agreement).doubleValue());
        stage.put("heldout_steps", evaluation.get("steps"));
        stage.put("heldout_step_accuracy", evaluation.get("step_accuracy"));
        stage.put("heldout_first_error_detection", evaluation.get("first_error_detection"));
        stage.put("heldout_right_solutions_judged_right", evaluation.get("right_solutions_judged_right"));
        stage.put("seconds", seconds);
        System.out.println(String.format("process_reward_model: Monte-Carlo step labels agree with the true labels on "
                        + "%.1f%% of %d steps; held-out step accuracy %.1f%%, first-error detection %.1f%%, %.1f min",
                100 * stage.get("label_agreement_with_true_steps").asDouble(), stage.get("train_steps").asLong(),
                100 * evaluation.get("step_accuracy"), 100 * evaluation.get("first_error_detection"), seconds / 60));
        return prm.model();
    }

    private static PrmDataJob.Result labels(SparkSession spark, String root, String sftCheckpoint, String questions,
                                            String name, int partitions, List<String> overrides) {
        List<String> settings = new ArrayList<>(LABELS);
        settings.addAll(List.of("policy.path=" + sftCheckpoint, "data.path=" + questions,
                "run.dir=" + new Path(root, name + "-run"), "output.path=" + new Path(root, name),
                "spark.partitions=" + partitions));
        settings.addAll(overrides.stream().filter(o -> o.startsWith("sampling.") || o.startsWith("steps.")).toList());
        return new PrmDataJob(spark, PrmDataConfig.load(null, settings)).run();
    }
}
