package io.whetstone.jobs.cli;

import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.records.PreferenceFormat;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.datasets.spark.PreferencePreparer;
import io.whetstone.datasets.spark.PreferenceSpec;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.preference.PreferenceEvaluation;
import io.whetstone.jobs.preference.ReferenceLogProbCache;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone eval-preferences}: how models rank held-out preference pairs. */
@Command(name = "eval-preferences", mixinStandardHelpOptions = true,
        description = {"How models rank held-out preference pairs (log-prob and implicit-reward accuracy).",
                "%nScored on Spark: the share of pairs whose chosen completion has the higher log-prob (summed, "
                        + "and per-token mean), and with --reference DPO's implicit-reward accuracy (the chosen "
                        + "completion gained more log-prob since the reference than the rejected one) and the mean "
                        + "implicit-reward margin at --beta. One line per model."})
public final class EvalPreferencesCommand implements Callable<Integer> {

    @Parameters(paramLabel = "model", arity = "1..*", description = "checkpoints, model directories or .gguf files")
    List<String> models = new ArrayList<>();

    @Option(names = "--data", required = true, description = "held-out pairs (JSONL or Parquet, any Hadoop path)")
    String data;

    @Option(names = "--format", defaultValue = "paired",
            description = "paired or implicit_prompt (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--seq-len", defaultValue = "256", description = "tokens per row; longer completions are cut "
            + "(default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--reference", description = "the reference model of implicit rewards (e.g. the DPO run's init)")
    String reference;

    @Option(names = "--beta", defaultValue = "0.1", description = "beta of the implicit reward (default: ${DEFAULT-VALUE})")
    double beta;

    @Option(names = "--work-dir", defaultValue = "runs/eval-preferences",
            description = "cache and rejects (default: ${DEFAULT-VALUE})")
    String workDir;

    @Option(names = "--partitions", defaultValue = "2", description = "Spark partitions (default: ${DEFAULT-VALUE})")
    int partitions;

    @Override
    public Integer call() {
        PreferenceFormat pairs = PreferenceFormat.parse(format);
        if (pairs == PreferenceFormat.UNPAIRED) {
            throw new IllegalArgumentException("--format unpaired has no pairs to rank; use paired or implicit_prompt");
        }
        SparkSession spark = SparkRuntime.session("whetstone eval-preferences");
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        String work = files.qualify(workDir);
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO,
                SparkRuntime.threadsPerTask(spark, 0));
        CheckpointStore.ModelAndTokenizer first = ModelSources.load(files, models.get(0));
        PreferencePreparer.Prepared prepared = new PreferencePreparer(spark).prepare(new PreferenceSpec(data, pairs,
                "auto", CorpusSpec.Validation.LENIENT, seqLen, CorpusSpec.Truncation.TRUNCATE,
                new Path(work, "_cache").toString()), first.tokenizer(), partitions, new Path(work, "rejects").toString());
        JavaRDD<PreferenceRow> units = prepared.rows();
        if (reference != null) {
            CheckpointStore.ModelAndTokenizer referenceModel = ModelSources.load(files, reference);
            units = ReferenceLogProbCache.annotate(spark, units, partitions, prepared.cachePath(), referenceModel,
                    engine).units();
        }
        System.out.println(String.format("%d pairs (%d rejected: see %s/rejects)", prepared.stats().units(),
                prepared.stats().rejected(), work));
        for (String path : models) {
            CheckpointStore.ModelAndTokenizer model = path.equals(models.get(0)) ? first : ModelSources.load(files, path);
            if (!model.tokenizer().id().equals(first.tokenizer().id())) {
                throw new IllegalArgumentException(path + " uses tokenizer " + model.tokenizer().id() + ", not "
                        + first.tokenizer().id() + " as " + models.get(0) + ": compare models of one tokenizer");
            }
            PreferenceEvaluation result = PreferenceEvaluation.evaluate(context, units, model, engine, beta);
            System.out.println(String.format("%s  log-prob accuracy %.3f  per-token %.3f%s", path,
                    result.logProbAccuracy(), result.meanLogProbAccuracy(), Double.isNaN(result.rewardAccuracy()) ? ""
                            : String.format("  implicit-reward accuracy %.3f  margin %.4f", result.rewardAccuracy(),
                            result.meanRewardMargin())));
        }
        return 0;
    }
}
