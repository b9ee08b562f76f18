package io.whetstone.jobs.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.jobs.config.TtsConfig;
import io.whetstone.jobs.tts.TtsJob;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The demo's test-time scaling stage: the SFT model on the held-out problems, greedy against self-consistency,
 * compute-optimal self-consistency and best-of-N by the verifier (the oracle bound) at 1, 4, 8 and 16 samples per
 * question, plus the reward model's weighted vote and best-of-N when the demo trained one.
 */
final class TtsDemoStage {

    /** The stage's settings; user overrides ({@code --tts key=value}) come after these. */
    static final List<String> PRESET = List.of("answer.format=task", "sampling.samples_per_prompt=16",
            "sampling.max_new_tokens=" + DemoCommand.MAX_NEW_TOKENS, "sampling.temperature=1.0",
            "sampling.decode_batch=64", "budget.unit=samples", "budget.values=[1, 4, 8, 16]", "adaptive.first=4",
            "adaptive.agreement=0.75");

    private TtsDemoStage() {
    }

    static void run(SparkSession spark, String root, String sftCheckpoint, String rewardModel, int partitions,
                    List<String> overrides, ObjectNode stage) {
        List<String> settings = new ArrayList<>(PRESET);
        settings.add("policy.path=" + sftCheckpoint);
        settings.add("data.path=" + new Path(root, "data/heldout.jsonl"));
        settings.add("run.dir=" + new Path(root, "tts"));
        settings.add("spark.partitions=" + partitions);
        settings.add(rewardModel == null ? "strategies=[greedy, self_consistency, adaptive, best_of_n_verifier]"
                : "strategies=[greedy, self_consistency, adaptive, weighted_vote, best_of_n_rm, best_of_n_verifier]");
        if (rewardModel != null) {
            settings.add("reward_model=" + rewardModel);
        }
        settings.addAll(overrides);
        TtsJob.Result result = new TtsJob(spark, TtsConfig.load(null, settings)).run();
        stage.put("name", "tts");
        result.of("greedy", 1).ifPresent(greedy -> stage.put("greedy_accuracy", greedy.accuracy()));
        stage.put("heldout_examples", result.questions());
        ArrayNode list = stage.putArray("strategies");
        StringBuilder line = new StringBuilder();
        for (TtsJob.Summary s : result.summary()) {
            s.writeTo(list.addObject());
            line.append(String.format("%n  %-18s %2d samples  %5.1f%% [%4.1f, %4.1f]  %6.1f tokens/question",
                    s.strategy(), s.budget(), 100 * s.accuracy(), 100 * s.ci95().low(), 100 * s.ci95().high(),
                    s.tokensPerQuestion()));
        }
        stage.put("plot", result.plot());
        stage.put("table", String.join(",", result.table()));
        stage.put("seconds", result.seconds());
        System.out.println(String.format("tts: %d held-out problems, %.1f min%s", result.questions(),
                result.seconds() / 60, line));
    }
}
