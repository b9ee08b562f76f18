package io.whetstone.jobs.generate;

import io.whetstone.datasets.records.Example;
import io.whetstone.datasets.records.RecordError;
import io.whetstone.datasets.spark.CorpusReader;
import io.whetstone.datasets.spark.DataValidationException;
import io.whetstone.datasets.spark.RawRecord;
import io.whetstone.datasets.tokenize.TokenizedExample;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.GenerateConfig;
import io.whetstone.jobs.engine.Seeds;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.train.TrainingState;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Completions for prompts on any Hadoop path: the model is loaded on the driver and broadcast once,
 * prompts are spread over the partitions, each partition decodes in batches with the KV-cache sampler,
 * and the rows (prompt, completion, token ids, their log-probs, why it ended) are written to a
 * temporary directory that is renamed into place. Each (prompt, sample) has its own seed, so the output
 * does not depend on the partitioning.
 */
public final class GenerateJob {

    private static final Logger LOG = LoggerFactory.getLogger(GenerateJob.class);
    private static final int SHOWN_ERRORS = 10;

    private final SparkSession spark;
    private final GenerateConfig config;

    public GenerateJob(SparkSession spark, GenerateConfig config) {
        this.spark = spark;
        this.config = config;
    }

    /** What the job wrote. */
    public record Result(String output, long prompts, long completions, long generatedTokens, double seconds) {
    }

    /** A record read as a prompt, or why it cannot be one. */
    record ParsedPrompt(Job job, RecordError error) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** One prompt to sample from. */
    record Job(String source, long line, int sample, String prompt, int[] ids, long seed) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    public Result run() {
        long start = System.nanoTime();
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        Path output = new Path(files.qualify(config.output().path()));
        FileSystem fs = files.fs(output);
        try {
            if (fs.exists(output)) {
                throw new IllegalArgumentException("output.path " + output + " already exists");
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        CheckpointStore.ModelAndTokenizer model = ModelSources.load(files, config.model().path());
        Tokenizer tokenizer = model.tokenizer();
        ModelConfig modelConfig = model.config();
        LOG.info("Generating with {} ({} parameters) from {}", config.model().path(), model.params().length,
                config.data().path());

        JavaRDD<RawRecord> raw = CorpusReader.isParquet(context.hadoopConfiguration(), config.data().path(), config.data().container())
                ? CorpusReader.parquet(spark, config.data().path())
                : CorpusReader.jsonl(context, config.data().path());
        // chats use the template the model's tokenizer carries (what it was trained with), else whetstone's markers
        PromptParser parser = new PromptParser(tokenizer.chatTemplate().isEmpty()
                ? new io.whetstone.datasets.records.ChatTemplateSpec()
                : new io.whetstone.datasets.records.ChatTemplateSpec(io.whetstone.datasets.records.ModelChatTemplate.of(
                        tokenizer.chatTemplate().get(), tokenizer.templateVariables(), tokenizer.specialTokenTexts(),
                        java.time.Instant.now())));
        int samples = config.sampling().samplesPerPrompt();
        long seed = config.sampling().seed();
        int maxPrompt = modelConfig.maxSeqLen() - 1;
        JavaRDD<ParsedPrompt> parsed = raw.map(record -> {
            PromptParser.Result result = parser.parse(record.source(), record.line(), record.json());
            if (result.error() != null) {
                return new ParsedPrompt(null, result.error());
            }
            int[] ids = TokenizedExample.of(new Example(record.source(), record.line(), result.pieces()), tokenizer)
                    .ids();
            if (ids.length > maxPrompt) {
                return new ParsedPrompt(null, new RecordError(record.source(), record.line(), "-", "prompt of "
                        + ids.length + " tokens leaves no room below max_seq_len " + (maxPrompt + 1), record.json()));
            }
            return new ParsedPrompt(new Job(record.source(), record.line(), 0, result.text(), ids, 0), null);
        }).cache();
        try {
            JavaRDD<RecordError> errors = parsed.filter(p -> p.error() != null).map(ParsedPrompt::error);
            long rejected = errors.count();
            if (rejected > 0) {
                if (config.data().validation().equals("strict")) {
                    throw new DataValidationException(config.data().path(),
                            errors.takeOrdered(SHOWN_ERRORS, RecordError.BY_LOCATION), rejected);
                }
                LOG.warn("{} prompt records were invalid and skipped (validation: lenient)", rejected);
            }
            JavaRDD<Job> jobs = parsed.filter(p -> p.job() != null).map(ParsedPrompt::job).flatMap(job -> {
                List<Job> copies = new ArrayList<>(samples);
                for (int s = 0; s < samples; s++) {
                    long rowSeed = Seeds.mix(seed, (job.source() + ":" + job.line()).hashCode(), s);
                    copies.add(new Job(job.source(), job.line(), s, job.prompt(), job.ids(), rowSeed));
                }
                return copies.iterator();
            });
            long prompts = parsed.filter(p -> p.job() != null).count();
            int partitions = config.spark().partitions();
            JavaRDD<Job> spread = jobs.mapToPair(job -> new Tuple2<>((job.source() + ":" + job.line()).hashCode(), job))
                    .partitionBy(new HashPartitioner(partitions)).values();

            Broadcast<float[]> weights = context.broadcast(model.params());
            int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
            EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.model().kernels()), threads);
            GenerateConfig.Sampling sampling = config.sampling();
            int batchSize = config.spark().batchSize();
            context.setJobDescription("whetstone generate: " + prompts + " prompts x " + samples + " samples");
            JavaRDD<Row> rows = spread.mapPartitions(iterator -> decode(iterator, modelConfig, weights.value(), tokenizer,
                    engine, sampling, batchSize));
            Path temporary = new Path(output.getParent(), "." + output.getName() + "._tmp-" + UUID.randomUUID());
            Dataset<Row> frame = spark.createDataFrame(rows, schema()).sortWithinPartitions("source", "line", "sample");
            if (config.output().format().equals("parquet")) {
                frame.write().parquet(temporary.toString());
            } else {
                frame.write().json(temporary.toString());
            }
            weights.destroy();
            files.publishDirectory(temporary, output);
            Dataset<Row> written = config.output().format().equals("parquet") ? spark.read().parquet(output.toString())
                    : spark.read().schema(schema()).json(output.toString());
            long completions = written.count();
            long generated = written.selectExpr("sum(size(tokens))").first().isNullAt(0) ? 0
                    : written.selectExpr("sum(size(tokens))").first().getLong(0);
            double seconds = (System.nanoTime() - start) / 1e9;
            LOG.info("Wrote {} completions ({} tokens, {} tokens/s) to {}", completions, generated,
                    String.format("%.0f", generated / seconds), output);
            return new Result(output.toString(), prompts, completions, generated, seconds);
        } finally {
            parsed.unpersist(false);
        }
    }

    private static Iterator<Row> decode(Iterator<Job> iterator, ModelConfig modelConfig, float[] params,
                                        Tokenizer tokenizer, EngineOptions engine, GenerateConfig.Sampling sampling,
                                        int batchSize) {
        List<Job> jobs = new ArrayList<>();
        iterator.forEachRemaining(jobs::add);
        jobs.sort(Comparator.comparing(Job::source).thenComparingLong(Job::line).thenComparingInt(Job::sample));
        List<Row> rows = new ArrayList<>(jobs.size());
        if (jobs.isEmpty()) {
            return rows.iterator();
        }
        SamplingConfig samplingConfig = new SamplingConfig(sampling.maxNewTokens(), sampling.temperature(),
                sampling.topK(), sampling.topP(), sampling.seed(), new int[] {tokenizer.eosId()});
        try (Transformer model = new Transformer(modelConfig, engine)) {
            TrainingState.copyInto(params, model.parameters().params());
            KvCacheDecoder decoder = new KvCacheDecoder(model);
            for (int from = 0; from < jobs.size(); from += batchSize) {
                List<Job> batch = jobs.subList(from, Math.min(jobs.size(), from + batchSize));
                List<int[]> prompts = new ArrayList<>();
                long[] seeds = new long[batch.size()];
                for (int i = 0; i < batch.size(); i++) {
                    prompts.add(batch.get(i).ids());
                    seeds[i] = batch.get(i).seed();
                }
                List<String> stops = sampling.stop();
                List<Completion> completions = decoder.generate(prompts, samplingConfig, seeds, stops.isEmpty() ? null
                        : (row, generated) -> containsAny(tokenizer.decode(generated), stops));
                for (int i = 0; i < batch.size(); i++) {
                    Job job = batch.get(i);
                    Completion completion = completions.get(i);
                    String text = truncateAtStop(tokenizer.decode(completion.tokens()), stops);
                    rows.add(RowFactory.create(job.source(), job.line(), job.sample(), job.prompt(), text,
                            completion.tokens(), completion.logProbs(),
                            completion.finish().name().toLowerCase(java.util.Locale.ROOT)));
                }
            }
        }
        return rows.iterator();
    }

    static boolean containsAny(String text, List<String> stops) {
        for (String stop : stops) {
            if (text.contains(stop)) {
                return true;
            }
        }
        return false;
    }

    /** The text up to (without) the first stop string. */
    static String truncateAtStop(String text, List<String> stops) {
        int cut = text.length();
        for (String stop : stops) {
            int at = text.indexOf(stop);
            if (at >= 0) {
                cut = Math.min(cut, at);
            }
        }
        return text.substring(0, cut);
    }

    static StructType schema() {
        return new StructType()
                .add("source", DataTypes.StringType, false)
                .add("line", DataTypes.LongType, false)
                .add("sample", DataTypes.IntegerType, false)
                .add("prompt", DataTypes.StringType, false)
                .add("completion", DataTypes.StringType, false)
                .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                .add("logprobs", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                .add("finish", DataTypes.StringType, false);
    }
}
