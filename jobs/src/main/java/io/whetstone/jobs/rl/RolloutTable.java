package io.whetstone.jobs.rl;

import io.whetstone.jobs.io.HadoopFiles;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Writes an iteration's rollouts as a Parquet table ({@code <run>/rollouts/iteration-NNNNNN}), written to
 * a temporary directory and renamed into place, so any update can be audited or replayed: prompt,
 * completion, tokens, sampler log-probs, each reward component ({@code reward_<name>}), the total, the
 * advantage, whether the update used it, and the policy version that sampled it.
 */
final class RolloutTable {

    private RolloutTable() {
    }

    static StructType schema(List<String> components) {
        StructType schema = new StructType()
                .add("iteration", DataTypes.IntegerType, false)
                .add("prompt_index", DataTypes.LongType, false)
                .add("prompt_id", DataTypes.StringType, false)
                .add("sample", DataTypes.IntegerType, false)
                .add("prompt", DataTypes.StringType, false)
                .add("completion", DataTypes.StringType, false)
                .add("reference", DataTypes.StringType, false)
                .add("prompt_tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                .add("sampler_logprobs", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("old_logprobs", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("ref_logprobs", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("values", DataTypes.createArrayType(DataTypes.FloatType, false), false);
        for (String name : components) {
            schema = schema.add("reward_" + name, DataTypes.DoubleType, false);
        }
        return schema.add("reward", DataTypes.DoubleType, false)
                .add("reward_failure", DataTypes.StringType, true)
                .add("finish", DataTypes.StringType, false)
                .add("advantage", DataTypes.DoubleType, false)
                .add("used", DataTypes.BooleanType, false)
                .add("policy_version", DataTypes.LongType, false)
                .add("seed", DataTypes.LongType, false);
    }

    /**
     * What the driver decided of each rollout, keyed by (prompt index, sample) in ascending order: the advantage
     * and whether the update used it.
     */
    private record Outcomes(long[] promptIndex, int[] sample, double[] advantages, boolean[] used)
            implements Serializable {

        private static final long serialVersionUID = 1L;

        int find(Rollout r) {
            int low = 0;
            int high = promptIndex.length - 1;
            while (low <= high) {
                int mid = (low + high) >>> 1;
                int c = promptIndex[mid] != r.promptIndex() ? Long.compare(promptIndex[mid], r.promptIndex())
                        : Integer.compare(sample[mid], r.sample());
                if (c == 0) {
                    return mid;
                }
                if (c < 0) {
                    low = mid + 1;
                } else {
                    high = mid - 1;
                }
            }
            throw new IllegalStateException("rollout " + r.promptIndex() + "/" + r.sample() + " was not collected");
        }
    }

    /** One table row: {@code r} with its advantage and whether the update used it. */
    private static Row row(int iteration, Rollout r, double advantage, boolean used) {
        List<Object> values = new ArrayList<>(List.of(iteration, r.promptIndex(), r.promptId(), r.sample(),
                r.prompt(), r.completion(), r.reference(), r.promptIds(), r.completionIds(), r.samplerLogProbs(),
                r.oldLogProbs(), r.refLogProbs(), r.values()));
        for (double component : r.rewards()) {
            values.add(component);
        }
        values.add(r.reward());
        values.add(r.failure());
        values.add(r.finish());
        values.add(advantage);
        values.add(used);
        values.add(r.policyVersion());
        values.add(r.seed());
        return RowFactory.create(values.toArray());
    }

    /**
     * Writes the table of {@code iteration}; returns its directory. The rows are read where they were sampled
     * ({@code sampled}, persisted by the caller); only the driver's decisions ({@code advantages} and
     * {@code used}, aligned with {@code collected}: by prompt index, then sample) travel, as a broadcast.
     */
    static String write(SparkSession spark, HadoopFiles files, String runDir, int iteration, List<String> components,
                        JavaRDD<RolloutPartition> sampled, List<Rollout> collected, double[] advantages,
                        boolean[] used) {
        long[] promptIndex = new long[collected.size()];
        int[] sample = new int[collected.size()];
        for (int i = 0; i < collected.size(); i++) {
            promptIndex[i] = collected.get(i).promptIndex();
            sample[i] = collected.get(i).sample();
        }
        Broadcast<Outcomes> outcomes = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(
                new Outcomes(promptIndex, sample, advantages, used));
        JavaRDD<Row> rows = sampled.flatMap(part -> part.rollouts().iterator()).map(r -> {
            Outcomes decided = outcomes.value();
            int at = decided.find(r);
            return row(iteration, r, decided.advantages()[at], decided.used()[at]);
        });
        try {
            return write(spark, files, runDir, iteration, rows, components);
        } finally {
            outcomes.destroy(false);
        }
    }

    private static String write(SparkSession spark, HadoopFiles files, String runDir, int iteration, JavaRDD<Row> rows,
                                List<String> components) {
        Path target = new Path(new Path(runDir, "rollouts"), String.format("iteration-%06d", iteration));
        Path temporary = new Path(target.getParent(), "." + target.getName() + "._tmp-" + UUID.randomUUID());
        spark.createDataFrame(rows, schema(components)).coalesce(1).sortWithinPartitions("prompt_index", "sample")
                .write().parquet(temporary.toString());
        files.publishDirectory(temporary, target); // replacing it: a resumed run samples this iteration again
        return target.toString();
    }
}
