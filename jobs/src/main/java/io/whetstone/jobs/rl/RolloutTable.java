package io.whetstone.jobs.rl;

import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
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

    /** Writes the table of {@code iteration}; returns its directory. */
    static String write(SparkSession spark, HadoopFiles files, String runDir, int iteration, List<String> components,
                        List<Rollout> rollouts, double[] advantages, boolean[] used) {
        List<Row> rows = new ArrayList<>(rollouts.size());
        for (int i = 0; i < rollouts.size(); i++) {
            Rollout r = rollouts.get(i);
            List<Object> values = new ArrayList<>(List.of(iteration, r.promptIndex(), r.promptId(), r.sample(),
                    r.prompt(), r.completion(), r.reference(), r.promptIds(), r.completionIds(), r.samplerLogProbs(),
                    r.oldLogProbs(), r.refLogProbs(), r.values()));
            for (double component : r.rewards()) {
                values.add(component);
            }
            values.add(r.reward());
            values.add(r.failure());
            values.add(r.finish());
            values.add(advantages[i]);
            values.add(used[i]);
            values.add(r.policyVersion());
            values.add(r.seed());
            rows.add(RowFactory.create(values.toArray()));
        }
        Path target = new Path(new Path(runDir, "rollouts"), String.format("iteration-%06d", iteration));
        Path temporary = new Path(target.getParent(), "." + target.getName() + "._tmp-" + UUID.randomUUID());
        FileSystem fs = files.fs(target);
        try {
            spark.createDataFrame(rows, schema(components)).coalesce(1).write().parquet(temporary.toString());
            if (fs.exists(target)) {
                fs.delete(target, true); // a resumed run samples this iteration again
            }
            if (!fs.rename(temporary, target)) {
                throw new IOException("cannot rename " + temporary + " to " + target);
            }
            return target.toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write rollouts of iteration " + iteration + " to " + target, e);
        }
    }
}
