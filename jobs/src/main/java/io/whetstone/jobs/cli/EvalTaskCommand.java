package io.whetstone.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.Verifier;
import io.whetstone.jobs.eval.Interval;
import io.whetstone.jobs.eval.PromptProblems;
import io.whetstone.datasets.tasks.AnswerFormat;
import io.whetstone.jobs.eval.TaskEvaluation;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone eval-task}: exact-match accuracy of models on problems with reference answers. */
@Command(name = "eval-task", mixinStandardHelpOptions = true,
        description = {"Exact-match accuracy of models on problems with reference answers, on Spark.",
                "Greedy decoding of each problem, scored by its final answer after '####': the built-in arithmetic task's",
                "held-out problems (the demo's with the default seed and 1,000 problems), or --data: records with a",
                "question and its answer (GSM8K's format) or a prompt and its reference, JSONL or Parquet. One line per",
                "model: path, correct/total, accuracy and the 95%% Wilson interval; --output also writes results.jsonl",
                "and every completion with its verdict."})
public final class EvalTaskCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(paramLabel = "model", arity = "1..*", description = "checkpoints or model directories to evaluate")
    List<String> models = new ArrayList<>();

    @Option(names = "--data", description = "problems: {question, answer} or {prompt, reference} records on any Hadoop "
            + "path (default: the built-in task's held-out problems)")
    String data;

    @Option(names = "--answer-format", description = "how final answers are read and compared: gsm8k (the number "
            + "after ####, normalised; the default with --data) or task (the exact #### answer; the built-in task's)")
    String answerFormat;

    @Option(names = "--examples",
            description = "problems: the built-in task's first N held-out ones (default: 1000), or the first N of --data "
                    + "(default: all of them)")
    Integer examples;

    @Option(names = "--seed", defaultValue = "7", description = "seed of the task generator (default: ${DEFAULT-VALUE}, the demo's)")
    long seed;

    @Option(names = "--max-new-tokens", defaultValue = "110",
            description = "longest completion (default: ${DEFAULT-VALUE}, the built-in task's)")
    int maxNewTokens;

    @Option(names = "--partitions", defaultValue = "2", description = "Spark partitions (default: ${DEFAULT-VALUE})")
    int partitions;

    @Option(names = "--output", description = "directory for results.jsonl and completions-<n>.jsonl (one per model)")
    String output;

    @Override
    public Integer call() {
        SparkSession spark = SparkRuntime.session("whetstone eval-task");
        HadoopFiles files = new HadoopFiles(JavaSparkContext.fromSparkContext(spark.sparkContext()).hadoopConfiguration());
        AnswerFormat format = AnswerFormat.parse(answerFormat != null ? answerFormat : data != null ? "gsm8k" : "task");
        List<CheckpointStore.ModelAndTokenizer> loaded = new ArrayList<>();
        for (String path : models) {
            loaded.add(ModelSources.load(files, path)); // every model loads before any evaluation starts
        }
        Verifier verifier = data != null ? PromptProblems.verifier(format) : ArithmeticTask.verifier();
        int threads = SparkRuntime.threadsPerTask(spark, 0);
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, threads);
        List<ObjectNode> results = new ArrayList<>();
        for (int m = 0; m < models.size(); m++) {
            CheckpointStore.ModelAndTokenizer model = loaded.get(m);
            List<TaskEvaluation.Problem> problems = problems(spark, model);
            TaskEvaluation.Result result = TaskEvaluation.evaluateProblems(spark, model.config(), model.params(),
                    model.tokenizer(), problems, verifier, maxNewTokens, partitions, engine, 100);
            // Wilson, not the normal approximation, which gave [0.0%, 0.0%] for 0 of 20
            Interval ci = Interval.wilson(result.correct(), result.total());
            ObjectNode line = JSON.createObjectNode().put("model", models.get(m)).put("correct", result.correct())
                    .put("total", result.total()).put("accuracy", result.accuracy()).put("ci95_low", ci.low())
                    .put("ci95_high", ci.high()).put("problems", data != null ? data : "built-in task, seed " + seed);
            results.add(line);
            if (output != null) {
                writeCompletions(files, new Path(output, "completions-" + (m + 1) + ".jsonl"), result.samples());
            }
            System.out.println(String.format("%s  %d/%d  %.1f%%  [%.1f%%, %.1f%%]", models.get(m), result.correct(),
                    result.total(), 100 * result.accuracy(), 100 * ci.low(), 100 * ci.high()));
        }
        if (output != null) {
            io.whetstone.jobs.eval.ResultsFile.write(files, output, results);
        }
        return 0;
    }

    /** The problems as {@code model} sees them (a file's prompts are tokenized and checked by its tokenizer). */
    private List<TaskEvaluation.Problem> problems(SparkSession spark, CheckpointStore.ModelAndTokenizer model) {
        if (data == null) {
            return new ArithmeticTask(2, 3, true, seed).generate(ArithmeticTask.Split.TEST, examples != null ? examples : 1000).stream()
                    .map(TaskEvaluation.Problem::templated).toList();
        }
        if (maxNewTokens >= model.config().maxSeqLen()) {
            throw new IllegalArgumentException("--max-new-tokens " + maxNewTokens + " leaves no room for a prompt in the "
                    + "model's max_seq_len " + model.config().maxSeqLen());
        }
        List<TaskEvaluation.Problem> all = PromptProblems.read(spark, data, model.tokenizer(),
                model.config().maxSeqLen() - maxNewTokens, AnswerFormat.parse(answerFormat != null ? answerFormat
                        : "gsm8k"));
        return examples == null ? all : all.subList(0, Math.min(examples, all.size()));
    }

    private static void writeCompletions(HadoopFiles files, Path path, List<TaskEvaluation.Sample> samples) {
        StringBuilder text = new StringBuilder();
        for (TaskEvaluation.Sample sample : samples) {
            text.append(JSON.createObjectNode().put("id", sample.id()).put("question", sample.question())
                    .put("completion", sample.completion()).put("correct", sample.correct())).append('\n');
        }
        files.writeBytes(path, text.toString().getBytes(StandardCharsets.UTF_8));
    }
}
