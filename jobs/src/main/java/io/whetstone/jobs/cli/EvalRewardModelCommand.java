package io.whetstone.jobs.cli;

import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.preference.RewardModelEvaluation;
import io.whetstone.jobs.rollout.ModelReward;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code whetstone eval-rm}: a reward model's pairwise accuracy on held-out pairs. */
@Command(name = "eval-rm", mixinStandardHelpOptions = true,
        description = {"A reward model's pairwise accuracy on held-out preference pairs.",
                "%nReads JSONL pairs (prompt, chosen, rejected) of strings, scored on Spark as RL scores with the "
                        + "model (--implicit-prompt: whole texts sharing their prompt), or of message lists, laid out "
                        + "by the model's chat template as reward-model training lays them out. Prints pairs, "
                        + "accuracy and mean reward gap; --out writes every pair's two rewards as JSON lines (the "
                        + "data of a reward-distribution plot)."})
public final class EvalRewardModelCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "the reward model's directory (reward-model's output)")
    String model;

    @Option(names = "--data", required = true, description = "held-out pairs")
    String data;

    @Option(names = "--implicit-prompt", description = "the records are {chosen, rejected} texts sharing their prompt")
    boolean implicitPrompt;

    @Option(names = "--out", description = "write each pair's rewards here (JSON lines)")
    String out;

    @Option(names = "--output", description = "directory for results.jsonl (pairs, accuracy, for the run report)")
    String output;

    @Option(names = "--partitions", defaultValue = "2", description = "Spark partitions (default: ${DEFAULT-VALUE})")
    int partitions;

    @Override
    public Integer call() {
        SparkSession spark = SparkRuntime.session("whetstone eval-rm");
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, SparkRuntime.threadsPerTask(spark, 0));
        ModelReward reward = ModelReward.load(context, files, model, engine);
        RewardModelEvaluation result = RewardModelEvaluation.evaluate(spark, data, implicitPrompt, reward, partitions);
        if (out != null) {
            StringBuilder lines = new StringBuilder();
            for (RewardModelEvaluation.Scored pair : result.scored()) {
                lines.append(String.format("{\"id\": \"%s\", \"chosen\": %s, \"rejected\": %s}%n",
                        pair.id().replace("\\", "\\\\").replace("\"", "\\\""), pair.chosen(), pair.rejected()));
            }
            files.writeBytes(new Path(files.qualify(out)), lines.toString().getBytes(StandardCharsets.UTF_8));
        }
        if (output != null) {
            io.whetstone.jobs.eval.ResultsFile.write(files, output, java.util.List.of(
                    new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("model", model)
                            .put("correct", Math.round(result.accuracy() * result.pairs())).put("total", result.pairs())
                            .put("accuracy", result.accuracy()).put("mean_reward_gap", result.meanGap())
                            .put("data", data)));
        }
        System.out.println(String.format("%s  %d pairs  accuracy %.3f  mean reward gap %.4f", model, result.pairs(),
                result.accuracy(), result.meanGap()));
        return 0;
    }
}
