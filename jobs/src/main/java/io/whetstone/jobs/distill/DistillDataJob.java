package io.whetstone.jobs.distill;

import io.whetstone.jobs.rollout.SampleRecord;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.jobs.config.DistillDataConfig;
import io.whetstone.jobs.config.SamplingSection;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.KeyedOutput;
import io.whetstone.jobs.io.TableOutput;
import io.whetstone.jobs.io.MetricsLog;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.rollout.ChunkedSampling;
import io.whetstone.jobs.rollout.RewardFactory;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A chain-of-thought corpus by rejection sampling: the teacher is broadcast, the executors sample
 * {@code samples_per_prompt} rationales per prompt (seeded by seed, prompt and sample) and score them with
 * the verifier; the driver keeps the verified ones (deduplicated, at most {@code max_per_prompt} per
 * prompt) and writes them in the SFT job's {@code prompt_completion} format with the run's statistics.
 *
 * <p>Prompts go in chunks; each chunk's samples are written to a work area under the output as soon as they
 * exist, so a killed run resumes after its last complete chunk. The output is keyed by the inputs (files,
 * teacher weights, every setting that changes the corpus): a rerun with the same key finds the finished
 * corpus and leaves it as it is; a different key on a finished output is refused rather than overwritten.
 */
public final class DistillDataJob {

    private static final Logger LOG = LoggerFactory.getLogger(DistillDataJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int KEY_VERSION = 1;

    private final SparkSession spark;
    private final DistillDataConfig config;

    public DistillDataJob(SparkSession spark, DistillDataConfig config) {
        this.spark = spark;
        this.config = config;
    }

    /**
     * What the run produced.
     *
     * @param output the corpus directory
     * @param jsonl the JSONL corpus file (null when not written)
     * @param parquet the Parquet corpus directory (null when not written)
     * @param stats the statistics (also in stats.json)
     * @param reused whether a finished corpus with the same key was found and kept
     * @param chunksSampled chunks sampled by this run (fewer than all after a resume)
     */
    public record Result(String output, String jsonl, String parquet, Map<String, Object> stats, boolean reused,
                         int chunksSampled) {
    }


    public Result run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        String runDir = directory.path();
        Path output = new Path(files.qualify(config.output().path()));

        CheckpointStore.ModelAndTokenizer teacher = ModelSources.load(files, config.teacher().path());
        SamplingSection sampling = config.sampling();
        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.teacher().kernels()), threads);
        Map<String, Object> verifierSpec = new LinkedHashMap<>(config.filter().verifier());
        verifierSpec.putIfAbsent("name", "verified");
        verifierSpec.put("weight", 1.0);
        List<RewardScorer.Component> verifier = RewardFactory.build(List.of(verifierSpec), sampling.maxNewTokens(),
                context, files, engine);
        String key = key(files, teacher, verifierSpec);

        Optional<Map<String, Object>> finished = KeyedOutput.finished(files, output, key, "a finished corpus");
        if (finished.isPresent()) {
            LOG.info("The corpus at {} is complete for these inputs and settings; nothing to do", output);
            return new Result(output.toString(), jsonlPath(output), parquetPath(output), finished.get(), true, 0);
        }

        Path work = new Path(output, "_work-" + key.substring(0, 16));
        MetricsLog metrics = directory.metrics();
        ChunkedSampling.Outcome sampled = ChunkedSampling.sample(spark, files, config.data().path(),
                config.data().container(), config.data().columns(), config.data().validation().equals("strict"), teacher, engine,
                sampling.spec(), sampling.chunkPrompts(), verifier, config.filter().timeoutMs(),
                config.spark().partitions(), work, key, metrics, new ChunkedSampling.Settings("distill-data",
                        sampling.chunkPrompts(), config.filter().minReward(), config.debug().failAfterRound()));
        List<SampleRecord> all = sampled.samples();
        double seconds = sampled.seconds();
        long samplesThisRun = sampled.samplesThisRun();
        CorpusFilter.Result result = new CorpusFilter(config.filter().minReward(), config.filter().maxPerPrompt(),
                config.filter().dedupe()).apply(all);
        if (result.accepted().isEmpty()) {
            // an empty corpus is no output: the stage after this one (distill, sft) would refuse it anyway
            throw new IllegalArgumentException("no corpus: of " + all.size() + " samples, none was kept (verified at "
                    + "filter.min_reward = " + config.filter().minReward() + " or above, and not empty); stats: "
                    + result.stats());
        }
        Map<String, Object> stats = new LinkedHashMap<>(result.stats());
        stats.put("sampling_seconds", seconds);
        stats.put("samples_per_second", seconds == 0 ? 0 : samplesThisRun / seconds);
        writeOutput(files, output, result, stats, key);
        deleteQuietly(files, work);
        metrics.append(Map.of("event", "end", "accepted", result.accepted().size(), "output", output.toString()));
        LOG.info("distill-data: {} of {} samples verified (teacher accuracy {}), {} kept in the corpus at {}",
                stats.get("verified"), stats.get("samples"), String.format("%.3f", (double) stats.get("teacher_accuracy")),
                result.accepted().size(), output);
        return new Result(output.toString(), jsonlPath(output), parquetPath(output), stats, false,
                sampled.chunksSampled());
    }

    /** Everything that changes the corpus: input files, teacher weights and tokenizer, sampling and filter settings. */
    private String key(HadoopFiles files, CheckpointStore.ModelAndTokenizer teacher, Map<String, Object> verifier) {
        return KeyedOutput.key(files, "v" + KEY_VERSION, config.data().path(), CheckpointStore.sha256(teacher.params()),
                teacher.tokenizer().id(), config.sampling(), config.filter(), verifier, config.data().validation());
    }

    private void writeOutput(HadoopFiles files, Path output, CorpusFilter.Result result, Map<String, Object> stats,
                             String key) {
        StructType schema = new StructType().add("id", DataTypes.StringType, false)
                .add("prompt", DataTypes.StringType, false).add("completion", DataTypes.StringType, false);
        List<Object[]> rows = new ArrayList<>();
        for (SampleRecord s : result.accepted()) {
            rows.add(new Object[] {s.id() + "#" + s.sample(), s.prompt(), s.completion()});
        }
        TableOutput.write(spark, files, output, "corpus", schema, rows, config.output().jsonl(),
                config.output().parquet());
        StringBuilder perPrompt = new StringBuilder();
        for (Map<String, Object> line : result.perPrompt()) {
            perPrompt.append(JSON.valueToTree(line).toString()).append('\n');
        }
        files.writeBytes(new Path(output, "prompts.jsonl"), perPrompt.toString().getBytes(StandardCharsets.UTF_8));
        KeyedOutput.finish(files, output, key, Map.of("teacher", config.teacher().path(), "data",
                config.data().path(), "format", "prompt_completion"), stats);
    }

    private String jsonlPath(Path output) {
        return config.output().jsonl() ? new Path(output, "corpus.jsonl").toString() : null;
    }

    private String parquetPath(Path output) {
        return config.output().parquet() ? new Path(output, "corpus.parquet").toString() : null;
    }

    private static void deleteQuietly(HadoopFiles files, Path path) {
        try {
            files.fs(path).delete(path, true);
        } catch (IOException e) {
            LOG.warn("could not delete the work area {}: {}", path, e.toString());
        }
    }
}
