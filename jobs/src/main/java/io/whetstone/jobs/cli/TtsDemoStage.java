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
 * question, plus the reward model's weighted vote and best-of-N when the demo trained one, and best-of-N and
 * step-level beam search (4 beams x 4 steps drawn) by the process reward model when it trained one.
 */
final class TtsDemoStage {

    /** The stage's settings; user overrides ({@code --tts key=value}) come after these. */
    static final List<String> PRESET = List.of("answer.format=task", "sampling.samples_per_prompt=16",
            "sampling.max_new_tokens=" + DemoCommand.MAX_NEW_TOKENS, "sampling.temperature=1.0",
            "sampling.decode_batch=64", "budget.unit=samples", "budget.values=[1, 4, 8, 16]", "adaptive.first=4",
            "adaptive.agreement=0.75");

    private TtsDemoStage() {
    }

    static void run(SparkSession spark, String root, String sftCheckpoint, String rewardModel,
                    String processRewardModel, int partitions, List<String> overrides, ObjectNode stage) {
        List<String> settings = new ArrayList<>(PRESET);
        settings.add("policy.path=" + sftCheckpoint);
        settings.add("data.path=" + new Path(root, "data/heldout.jsonl"));
        settings.add("run.dir=" + new Path(root, "tts"));
        settings.add("spark.partitions=" + partitions);
        List<String> strategies = new ArrayList<>(List.of("greedy", "self_consistency", "adaptive"));
        if (rewardModel != null) {
            strategies.addAll(List.of("weighted_vote", "best_of_n_rm"));
            settings.add("reward_model=" + rewardModel);
        }
        if (processRewardModel != null) {
            strategies.addAll(List.of("best_of_n_prm", "beam_search"));
            settings.addAll(List.of("process_reward.path=" + processRewardModel, "process_reward.delimiter='. '",
                    "process_reward.aggregation=min", "beam.width=4", "beam.expansions=4", "beam.max_steps=8"));
        }
        strategies.add("best_of_n_verifier");
        settings.add("strategies=[" + String.join(", ", strategies) + "]");
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
