package io.whetstone.jobs.preference;

import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.jobs.config.PreferenceDataConfig;
import io.whetstone.jobs.config.SamplingSection;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.KeyedOutput;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.io.TableOutput;
import io.whetstone.jobs.rollout.ChunkedSampling;
import io.whetstone.jobs.rollout.RewardFactory;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.io.IOException;
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
 * Preference data from a policy's own samples: the policy is broadcast, the executors sample
 * {@code samples_per_prompt} completions per prompt (seeded by seed, prompt and sample) and score them (a
 * verifier, a reward model or both); the driver forms pairs (or KTO's labelled completions) and writes them
 * in the format the dpo job reads, with statistics (pairs per prompt, reward gap, lengths).
 *
 * <p>Like distill-data: prompts go in chunks written as they finish, so a killed run resumes after its last
 * complete chunk, and the output is keyed by its inputs (files, policy weights, every setting that changes the
 * data): a rerun with the same key keeps the finished output; another key on a finished output is refused.
 */
public final class PreferenceDataJob {

    private static final Logger LOG = LoggerFactory.getLogger(PreferenceDataJob.class);
    private static final int KEY_VERSION = 1;

    private final SparkSession spark;
    private final PreferenceDataConfig config;

    public PreferenceDataJob(SparkSession spark, PreferenceDataConfig config) {
        this.spark = spark;
        this.config = config;
    }

    /**
     * What the run produced.
     *
     * @param output the output directory
     * @param data the file or directory the dpo job reads ({@code pairs.jsonl}, else {@code pairs.parquet})
     * @param format {@code paired} or {@code unpaired}: the dpo job's data.format
     * @param stats the statistics (also in stats.json)
     * @param reused whether a finished output with the same key was found and kept
     * @param chunksSampled chunks sampled by this run
     */
    public record Result(String output, String data, String format, Map<String, Object> stats, boolean reused,
                         int chunksSampled) {
    }

    public Result run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        String runDir = directory.path();
        Path output = new Path(files.qualify(config.output().path()));

        CheckpointStore.ModelAndTokenizer policy = ModelSources.load(files, config.policy().path());
        SamplingSection sampling = config.sampling();
        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.policy().kernels()), threads);
        List<RewardScorer.Component> scorers = RewardFactory.build(config.scoring().components(),
                sampling.maxNewTokens(), context, files, engine);
        String key = key(files, policy);
        String format = config.pairs().mode().equals("unpaired") ? "unpaired" : "paired";

        Optional<Map<String, Object>> finished = KeyedOutput.finished(files, output, key, "finished preference data");
        if (finished.isPresent()) {
            LOG.info("The preference data at {} is complete for these inputs and settings; nothing to do", output);
            return new Result(output.toString(), dataPath(output), format, finished.get(), true, 0);
        }

        Path work = new Path(output, "_work-" + key.substring(0, 16));
        ChunkedSampling.Outcome sampled = ChunkedSampling.sample(spark, files, config.data().path(),
                config.data().container(), config.data().columns(), config.data().validation().equals("strict"), policy, engine,
                sampling.spec(), sampling.chunkPrompts(), scorers, config.scoring().timeoutMs(),
                config.spark().partitions(), work, key, directory.metrics(),
                new ChunkedSampling.Settings("preference-data", sampling.chunkPrompts(),
                        config.pairs().desirableReward(), config.debug().failAfterRound()));
        PairBuilder.Result pairs = new PairBuilder(PairBuilder.Mode.parse(config.pairs().mode()),
                config.pairs().minGap(), config.pairs().maxPerPrompt(), config.pairs().desirableReward(),
                config.pairs().keepUnfinished())
                .build(sampled.samples());
        if (pairs.pairs().isEmpty()) {
            throw new IllegalArgumentException("no preference data: of " + sampled.samples().size() + " samples, no "
                    + "prompt had completions scored at least pairs.min_gap = " + config.pairs().minGap()
                    + " apart (stats: " + pairs.stats() + ")");
        }
        Map<String, Object> stats = new LinkedHashMap<>(pairs.stats());
        stats.put("sampling_seconds", sampled.seconds());
        stats.put("samples_per_second", sampled.seconds() == 0 ? 0 : sampled.samplesThisRun() / sampled.seconds());
        writeOutput(files, output, pairs.pairs(), stats, key, format);
        try {
            files.fs(work).delete(work, true);
        } catch (IOException e) {
            LOG.warn("could not delete the work area {}: {}", work, e.toString());
        }
        directory.metrics().append(Map.of("event", "end", "units", pairs.pairs().size(), "output",
                output.toString()));
        LOG.info("preference-data: {} from {} samples at {}", pairs.stats(), sampled.samples().size(), output);
        return new Result(output.toString(), dataPath(output), format, stats, false, sampled.chunksSampled());
    }

    private void writeOutput(HadoopFiles files, Path output, List<PairBuilder.Pair> pairs, Map<String, Object> stats,
                             String key, String format) {
        boolean unpaired = format.equals("unpaired");
        StructType schema = unpaired
                ? new StructType().add("id", DataTypes.StringType, false).add("prompt", DataTypes.StringType, false)
                        .add("completion", DataTypes.StringType, false).add("label", DataTypes.BooleanType, false)
                : new StructType().add("id", DataTypes.StringType, false).add("prompt", DataTypes.StringType, false)
                        .add("chosen", DataTypes.StringType, false).add("rejected", DataTypes.StringType, false);
        List<Object[]> rows = new ArrayList<>(pairs.size());
        for (PairBuilder.Pair pair : pairs) {
            String id = pair.chosen().id() + "#" + pair.chosen().sample()
                    + (pair.rejected() == null ? "" : "-" + pair.rejected().sample());
            rows.add(unpaired ? new Object[] {id, pair.chosen().prompt(), pair.chosen().completion(), pair.desirable()}
                    : new Object[] {id, pair.chosen().prompt(), pair.chosen().completion(),
                            pair.rejected().completion()});
        }
        TableOutput.write(spark, files, output, "pairs", schema, rows, config.output().jsonl(),
                config.output().parquet());
        KeyedOutput.finish(files, output, key, Map.of("policy", config.policy().path(), "data", config.data().path(),
                "format", format), stats);
    }

    /** Everything that changes the data: input files, policy weights and tokenizer, sampling, scoring and pairing. */
    private String key(HadoopFiles files, CheckpointStore.ModelAndTokenizer policy) {
        return KeyedOutput.key(files, "v" + KEY_VERSION, config.data().path(), CheckpointStore.sha256(policy.params()),
                policy.tokenizer().id(), config.sampling(), config.scoring(), config.pairs(), config.data().validation());
    }

    private String dataPath(Path output) {
        return new Path(output, config.output().jsonl() ? "pairs.jsonl" : "pairs.parquet").toString();
    }
}
