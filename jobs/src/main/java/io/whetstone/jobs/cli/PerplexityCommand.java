package io.whetstone.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.records.Format;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.jobs.engine.HeldOutLoss;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.engine.WorkerSetup;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone perplexity}: held-out loss and perplexity of models on a corpus, for measuring forgetting. */
@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = {"Loss and perplexity per trained token of models on a held-out corpus.",
                "The corpus (any Hadoop path, JSONL or Parquet, in a training data format) is validated and",
                "tokenized with each model's tokenizer as sft would, and scored on the executors. Run it on the",
                "checkpoints before and after a stage (DPO, RL, distillation) to measure forgetting. Prints one",
                "JSON object per model: model, loss, perplexity, tokens."})
public final class PerplexityCommand implements Callable<Integer> {

    @Parameters(paramLabel = "model", arity = "1..*", description = "checkpoints, model directories or .gguf files")
    List<String> models = new ArrayList<>();

    @Option(names = "--data", required = true, description = "the held-out corpus")
    String data;

    @Option(names = "--format", defaultValue = "prompt_completion",
            description = "prompt_completion | messages | gsm8k (default: ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--seq-len", defaultValue = "512", description = "tokens per row (default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--cache", description = "tokenized-corpus cache directory (default: a temporary directory)")
    String cache;

    @Option(names = "--partitions", defaultValue = "2", description = "Spark partitions (default: ${DEFAULT-VALUE})")
    int partitions;

    @Option(names = "--output", description = "directory for results.jsonl (one line per model, for the run report)")
    String output;

    @Override
    public Integer call() throws Exception {
        SparkSession spark = SparkRuntime.session("whetstone perplexity");
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        java.nio.file.Path temporary = cache == null ? Files.createTempDirectory("whetstone-ppl-") : null;
        String cacheDir = cache != null ? cache : temporary.toUri().toString();
        try {
            return score(spark, context, files, cacheDir);
        } finally {
            if (temporary != null) {
                org.apache.commons.io.FileUtils.deleteQuietly(temporary.toFile());
            }
        }
    }

    private int score(SparkSession spark, JavaSparkContext context, HadoopFiles files, String cacheDir) {
        CorpusSpec spec = new CorpusSpec(data, Format.parse(format), "auto", CorpusSpec.Validation.STRICT, seqLen, true,
                CorpusSpec.Truncation.ERROR, cacheDir);
        int threads = SparkRuntime.threadsPerTask(spark, 0);
        ObjectMapper json = new ObjectMapper();
        List<ObjectNode> results = new ArrayList<>();
        for (String path : models) {
            CheckpointStore.ModelAndTokenizer model = ModelSources.load(files, path);
            if (seqLen > model.config().maxSeqLen()) {
                throw new IllegalArgumentException("--seq-len " + seqLen + " exceeds " + path + "'s max_seq_len "
                        + model.config().maxSeqLen());
            }
            JavaRDD<PackedSequence> rows = new CorpusPreparer(spark).prepare(spec, model.tokenizer(), partitions,
                    cacheDir + "/rejects").rows().persist(StorageLevel.MEMORY_AND_DISK());
            try {
                // an evaluation-only setup: the optimiser and schedule are never used
                WorkerSetup setup = new WorkerSetup(model.config(),
                        new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, threads), "sgd",
                        new AdamWConfig(0.9, 0.999, 1e-8, 0, 0), new LrSchedule(1e-3, 0, 1, 1), 8, 1, 0, null, 0);
                HeldOutLoss.Result result = HeldOutLoss.evaluate(context, rows, setup, model.params(), null, null,
                        "whetstone perplexity: " + path);
                ObjectNode line = json.createObjectNode();
                line.put("model", path);
                line.put("loss", result.loss());
                line.put("perplexity", result.perplexity());
                line.put("tokens", (long) result.tokens());
                line.put("data", data);
                results.add(line);
                System.out.println(line);
            } finally {
                rows.unpersist(false);
                ModelPool.clear();
            }
        }
        if (output != null) {
            io.whetstone.jobs.eval.ResultsFile.write(files, output, results);
        }
        return 0;
    }
}
