package io.whetstone.jobs.cli;

import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.prm.PrmEvaluation;
import io.whetstone.jobs.prm.ProcessRewardModel;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code whetstone eval-prm}: a process reward model against true step labels. */
@Command(name = "eval-prm", mixinStandardHelpOptions = true,
        description = {"A process reward model's step accuracy and first-error detection against true step labels.",
                "%nOn prm-data's steps.jsonl written with steps.true_labels=true: a step is judged right when its "
                        + "score is above 0; scored on the executors."})
public final class EvalPrmCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "the prm job's process_reward_model directory")
    String model;

    @Option(names = "--data", required = true, description = "steps.jsonl with true_labels (any Hadoop path)")
    String data;

    @Option(names = "--output", description = "directory for results.jsonl (the step metrics, for the run report)")
    String output;

    @Option(names = "--partitions", defaultValue = "2", description = "Spark partitions (default: ${DEFAULT-VALUE})")
    int partitions;

    @Override
    public Integer call() {
        SparkSession spark = SparkRuntime.session("whetstone eval-prm");
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        ProcessRewardModel prm = ProcessRewardModel.load(context, files,
                model, new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, SparkRuntime.threadsPerTask(spark, 0)));
        try {
            Map<String, Double> result = PrmEvaluation.evaluate(context, data, prm, partitions);
            if (output != null) {
                com.fasterxml.jackson.databind.node.ObjectNode line = new com.fasterxml.jackson.databind.ObjectMapper()
                        .createObjectNode().put("model", model);
                result.forEach(line::put);
                io.whetstone.jobs.eval.ResultsFile.write(files, output, java.util.List.of(line.put("data", data)));
            }
            System.out.println(String.format("%s  %.0f steps  step accuracy %.3f  first-error detection %.3f of %.0f  "
                            + "right solutions judged right %.3f of %.0f", model, result.get("steps"),
                    result.get("step_accuracy"), result.get("first_error_detection"),
                    result.get("solutions_with_error"), result.get("right_solutions_judged_right"),
                    result.get("right_solutions")));
        } finally {
            prm.destroy();
        }
        return 0;
    }
}
