package io.whetstone.jobs.preference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.records.PreferenceParser;
import io.whetstone.datasets.rewards.RewardInput;
import io.whetstone.datasets.spark.CorpusReader;
import io.whetstone.datasets.spark.RawRecord;
import io.whetstone.jobs.rollout.ModelReward;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * A reward model on held-out pairs, scored on the executors exactly as RL and preference-data score with it
 * ({@link ModelReward}): pairwise accuracy (the chosen completion gets the higher reward), the mean reward gap,
 * and every pair's two rewards (the data of a reward-distribution plot).
 *
 * @param pairs pairs scored
 * @param accuracy share of pairs with r(chosen) > r(rejected)
 * @param meanGap mean of r(chosen) - r(rejected)
 * @param scored each pair's id, chosen and rejected reward
 */
public record RewardModelEvaluation(long pairs, double accuracy, double meanGap, List<Scored> scored)
        implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One pair's rewards. */
    public record Scored(String id, double chosen, double rejected) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * Scores the pairs at {@code path} (JSONL {@code {"prompt", "chosen", "rejected"}} strings, or with
     * {@code implicitPrompt} whole texts sharing their prompt) with {@code reward}.
     */
    public static RewardModelEvaluation evaluate(SparkSession spark, String path, boolean implicitPrompt,
                                                 ModelReward reward, int partitions) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        context.setJobDescription("whetstone: score held-out pairs with a reward model");
        List<Scored> scored = CorpusReader.jsonl(context, path).repartition(partitions)
                .map(record -> score(record, implicitPrompt, reward)).collect();
        List<Scored> sorted = new ArrayList<>(scored);
        sorted.sort(java.util.Comparator.comparing(Scored::id));
        if (sorted.isEmpty()) {
            throw new IllegalArgumentException("no pairs in " + path);
        }
        double correct = 0;
        double gap = 0;
        for (Scored pair : sorted) {
            correct += pair.chosen() > pair.rejected() ? 1 : 0;
            gap += pair.chosen() - pair.rejected();
        }
        return new RewardModelEvaluation(sorted.size(), correct / sorted.size(), gap / sorted.size(), sorted);
    }

    private static Scored score(RawRecord record, boolean implicitPrompt, ModelReward reward) throws Exception {
        JsonNode node = JSON.readTree(record.json());
        String chosen = text(node, "chosen", record);
        String rejected = text(node, "rejected", record);
        String prompt;
        if (implicitPrompt) {
            int split = PreferenceParser.sharedPrompt(chosen, rejected);
            prompt = chosen.substring(0, split);
            chosen = chosen.substring(split);
            rejected = rejected.substring(split);
        } else {
            prompt = text(node, "prompt", record);
        }
        String id = String.format("%s:%012d", record.source(), record.line());
        return new Scored(id, reward.score(new RewardInput(prompt, chosen, "", 0, false)),
                reward.score(new RewardInput(prompt, rejected, "", 0, false)));
    }

    private static String text(JsonNode node, String field, RawRecord record) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException(record.source() + ":" + record.line() + ": " + field
                    + ": expected a string (eval-rm reads string pairs)");
        }
        return value.asText();
    }
}
