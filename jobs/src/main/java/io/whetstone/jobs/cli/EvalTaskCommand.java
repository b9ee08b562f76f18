package io.whetstone.jobs.cli;

import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.jobs.eval.TaskEvaluation;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone eval-task}: held-out exact-match accuracy of models on the built-in arithmetic task. */
@Command(name = "eval-task", mixinStandardHelpOptions = true,
        description = {"Held-out exact-match accuracy of models on the built-in arithmetic task.",
                "Greedy decoding of the task's held-out problems (the same generator and seed as the demo, so with the",
                "default 1,000 they are the demo's held-out set), scored by the task's verifier, on Spark. One line per model:",
                "path, correct/total, accuracy, and the 95%% Wilson interval of the accuracy."})
public final class EvalTaskCommand implements Callable<Integer> {

    @Parameters(paramLabel = "model", arity = "1..*", description = "checkpoints or model directories to evaluate")
    List<String> models = new ArrayList<>();

    @Option(names = "--examples", defaultValue = "1000", description = "held-out problems (default: ${DEFAULT-VALUE})")
    int examples;

    @Option(names = "--seed", defaultValue = "7", description = "seed of the task generator (default: ${DEFAULT-VALUE}, the demo's)")
    long seed;

    @Option(names = "--partitions", defaultValue = "2", description = "Spark partitions (default: ${DEFAULT-VALUE})")
    int partitions;

    @Override
    public Integer call() {
        SparkSession spark = SparkRuntime.session("whetstone eval-task");
        HadoopFiles files = new HadoopFiles(JavaSparkContext.fromSparkContext(spark.sparkContext()).hadoopConfiguration());
        List<TaskExample> heldout = new ArithmeticTask(2, 3, true, seed).generate(ArithmeticTask.Split.TEST, examples);
        int threads = SparkRuntime.threadsPerTask(spark, 0);
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, threads);
        for (String path : models) {
            CheckpointStore.ModelAndTokenizer model = ModelSources.load(files, path);
            TaskEvaluation.Result result = TaskEvaluation.evaluate(spark, model.config(), model.params(),
                    model.tokenizer(), heldout, ArithmeticTask.verifier(), DemoCommand.MAX_NEW_TOKENS, partitions,
                    engine, 100);
            // Wilson, not the normal approximation, which gave [0.0%, 0.0%] for 0 of 20
            io.whetstone.jobs.eval.Interval ci = io.whetstone.jobs.eval.Interval.wilson(result.correct(),
                    result.total());
            System.out.println(String.format("%s  %d/%d  %.1f%%  [%.1f%%, %.1f%%]", path, result.correct(),
                    result.total(), 100 * result.accuracy(), 100 * ci.low(), 100 * ci.high()));
        }
        return 0;
    }
}
