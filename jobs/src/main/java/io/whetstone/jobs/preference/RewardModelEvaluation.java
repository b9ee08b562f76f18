package io.whetstone.jobs.preference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.records.PreferenceFormat;
import io.whetstone.datasets.records.PreferenceParser;
import io.whetstone.datasets.rewards.RewardInput;
import io.whetstone.datasets.spark.CorpusReader;
import io.whetstone.datasets.spark.PreferencePreparer;
import io.whetstone.datasets.spark.RawRecord;
import io.whetstone.jobs.rollout.ModelReward;
import io.whetstone.jobs.sft.ChatTemplates;
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
     * Scores the pairs at {@code path} with {@code reward}: JSONL {@code {"prompt", "chosen", "rejected"}} as
     * strings (or with {@code implicitPrompt} whole texts sharing their prompt), scored as RL scores a prompt and
     * its completion; or as message lists (a prompt's turns, the completions' assistant turns), laid out by the
     * reward model's chat template and tokenized exactly as reward-model training lays them out, and scored where
     * training reads the reward.
     */
    public static RewardModelEvaluation evaluate(SparkSession spark, String path, boolean implicitPrompt,
                                                 ModelReward reward, int partitions) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        context.setJobDescription("whetstone: score held-out pairs with a reward model");
        PreferenceParser messages = new PreferenceParser(PreferenceFormat.PAIRED,
                ChatTemplates.forModel(reward.tokenizer()));
        List<Scored> scored = CorpusReader.jsonl(context, path).repartition(partitions)
                .map(record -> score(record, implicitPrompt, messages, reward)).collect();
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

    private static Scored score(RawRecord record, boolean implicitPrompt, PreferenceParser messages,
                                ModelReward reward) throws Exception {
        JsonNode node = JSON.readTree(record.json());
        String id = String.format("%s:%012d", record.source(), record.line());
        if (!implicitPrompt && node.isObject() && (node.path("prompt").isArray() || node.path("chosen").isArray())) {
            PreferenceRow unit = PreferencePreparer.unit(messages, record.source(), record.line(), record.json(),
                    reward.tokenizer(), reward.maxSeqLen() - 1);
            return new Scored(id, reward.scoreRow(unit.chosen()), reward.scoreRow(unit.rejected()));
        }
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
        return new Scored(id, reward.score(new RewardInput(prompt, chosen, "", 0, false)),
                reward.score(new RewardInput(prompt, rejected, "", 0, false)));
    }

    private static String text(JsonNode node, String field, RawRecord record) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException(record.source() + ":" + record.line() + ": " + field
                    + ": expected a string (or, without --implicit-prompt, message lists)");
        }
        return value.asText();
    }
}
