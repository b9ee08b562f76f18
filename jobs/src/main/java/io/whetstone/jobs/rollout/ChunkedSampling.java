package io.whetstone.jobs.rollout;

import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.jobs.config.InjectedFailure;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.models.engine.EngineOptions;
import org.apache.spark.sql.SparkSession;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.MetricsLog;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resumable sampling loop of jobs that sample a fixed policy over a prompt set (chain-of-thought corpora,
 * preference pairs): prompts go in chunks by index; each chunk's scored samples are written to the work area
 * as soon as they exist, with {@code _SUCCESS} last, so a killed run resumes after its last complete chunk,
 * and progress (samples/s, share accepted, ETA) is logged and appended to the metrics per chunk.
 */
public final class ChunkedSampling {

    private static final Logger LOG = LoggerFactory.getLogger(ChunkedSampling.class);

    private ChunkedSampling() {
    }

    /**
     * @param label the job's name in logs and Spark job descriptions
     * @param chunkPrompts prompts per chunk
     * @param acceptReward a sample counts as accepted in the progress line at or above this reward
     * @param failAfterChunk stop as a killed job would after this chunk (0: never)
     */
    public record Settings(String label, int chunkPrompts, double acceptReward, int failAfterChunk) {
    }

    /**
     * @param samples every chunk's samples, in chunk order
     * @param chunksSampled chunks sampled by this run (fewer than all after a resume)
     * @param samplesThisRun samples drawn by this run
     * @param seconds time this run spent sampling
     */
    public record Outcome(List<SampleRecord> samples, int chunksSampled, long samplesThisRun, double seconds) {
    }

    /** Samples every chunk of {@code prompts} (indices 0..maxIndex) not already complete in {@code work}. */
    public static Outcome run(JavaSparkContext context, HadoopFiles files, JavaRDD<PromptRecord> prompts, long maxIndex,
                              SamplerSetup setup, Broadcast<float[]> weights, Path work, Settings settings,
                              MetricsLog metrics) {
        int chunkSize = settings.chunkPrompts();
        int chunks = (int) ((maxIndex + chunkSize) / chunkSize);
        int samplesPerPrompt = setup.sampling().samplesPerPrompt();
        int sampled = 0;
        long samplesThisRun = 0;
        double seconds = 0;
        for (int chunk = 0; chunk < chunks; chunk++) {
            Path chunkDir = chunkDir(work, chunk);
            if (files.exists(new Path(chunkDir, "_SUCCESS"))) {
                continue;
            }
            long from = (long) chunk * chunkSize;
            long to = from + chunkSize;
            long start = System.nanoTime();
            context.setJobDescription("whetstone " + settings.label() + ": chunk " + (chunk + 1) + "/" + chunks
                    + " (prompts " + from + "-" + (to - 1) + " x " + samplesPerPrompt + " samples)");
            List<SamplingTask.Result> parts = prompts.filter(p -> p.index() >= from && p.index() < to)
                    .mapPartitions(rows -> SamplingTask.run(setup, weights::value, rows, 0)).collect();
            StringBuilder lines = new StringBuilder();
            long samples = 0;
            long accepted = 0;
            for (SamplingTask.Result part : parts) {
                for (Sample sample : part.samples()) {
                    lines.append(SampleRecord.of(sample).toJson()).append('\n');
                    samples++;
                    if (!sample.failed() && sample.reward() >= settings.acceptReward()) {
                        accepted++;
                    }
                }
            }
            files.writeBytes(new Path(chunkDir, "samples.jsonl"), lines.toString().getBytes(StandardCharsets.UTF_8));
            files.writeBytes(new Path(chunkDir, "_SUCCESS"), new byte[0]);
            double took = (System.nanoTime() - start) / 1e9;
            sampled++;
            samplesThisRun += samples;
            seconds += took;
            double eta = seconds / sampled * (chunks - chunk - 1);
            LOG.info(String.format("%s chunk %d/%d  %d samples  accepted %.1f%%  %.1f samples/s  %.1fs  eta %.0fs",
                    settings.label(), chunk + 1, chunks, samples, samples == 0 ? 0 : 100.0 * accepted / samples,
                    samples / took, took, eta));
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("chunk", chunk + 1);
            line.put("samples", samples);
            line.put("verified", accepted);
            line.put("samples_per_s", samples / took);
            line.put("chunk_s", took);
            line.put("eta_s", eta);
            metrics.append(line);
            if (settings.failAfterChunk() > 0 && chunk + 1 == settings.failAfterChunk()) {
                throw new InjectedFailure("debug.fail_after_round=" + (chunk + 1)
                        + ": stopping after this chunk as a killed job would");
            }
        }
        List<SampleRecord> all = new ArrayList<>();
        for (int chunk = 0; chunk < chunks; chunk++) {
            String text = new String(files.readBytes(new Path(chunkDir(work, chunk), "samples.jsonl")),
                    StandardCharsets.UTF_8);
            text.lines().filter(l -> !l.isBlank()).forEach(l -> all.add(SampleRecord.fromJson(l)));
        }
        return new Outcome(all, sampled, samplesThisRun, seconds);
    }

    /**
     * The whole sampling step of a data-making job: reads and validates the prompts at {@code dataPath} (prompts
     * longer than the model's context leaves beside {@code maxNewTokens} are errors), broadcasts the model,
     * samples every chunk not yet complete in {@code work}, and frees the broadcast and the pooled models.
     * Appends a start line (prompts, chunks, key) to {@code metrics}.
     */
    public static Outcome sample(SparkSession spark, HadoopFiles files, String dataPath, String container,
                                 java.util.Map<String, String> columns, boolean strict, CheckpointStore.ModelAndTokenizer model, EngineOptions engine,
                                 SamplingSpec sampling, int chunkPrompts, List<RewardScorer.Component> scorers,
                                 long timeoutMs, int partitions, Path work, String key, MetricsLog metrics,
                                 Settings settings) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int maxPrompt = model.config().maxSeqLen() - sampling.maxNewTokens();
        if (maxPrompt < 1) {
            throw new IllegalArgumentException("sampling.max_new_tokens " + sampling.maxNewTokens() + " leaves no room "
                    + "for a prompt within the model's max_seq_len " + model.config().maxSeqLen());
        }
        PromptReader.Partitioned read = PromptReader.readPartitioned(spark, dataPath, container, columns, strict,
                model.tokenizer(), maxPrompt, partitions);
        JavaRDD<PromptRecord> prompts = read.prompts();
        long maxIndex = prompts.map(PromptRecord::index).reduce(Math::max);
        int chunks = chunks(maxIndex, chunkPrompts);
        metrics.append(Map.of("event", "start", "prompts", read.count(), "chunks", chunks, "key", key, "output",
                work.getParent().toString()));
        LOG.info("{}: {} prompts x {} samples in {} chunk(s); work area {}", settings.label(), read.count(),
                sampling.samplesPerPrompt(), chunks, work);
        Broadcast<float[]> weights = context.broadcast(model.params());
        SamplerSetup setup = new SamplerSetup(model.config(), engine, model.tokenizer(), sampling, scorers, timeoutMs,
                weights.id());
        try {
            return run(context, files, prompts, maxIndex, setup, weights, work, settings, metrics);
        } finally {
            weights.destroy();
            prompts.unpersist(false);
            ModelPool.clear();
        }
    }

    /** The number of chunks of {@code maxIndex + 1} prompts. */
    public static int chunks(long maxIndex, int chunkPrompts) {
        return (int) ((maxIndex + chunkPrompts) / chunkPrompts);
    }

    private static Path chunkDir(Path work, int chunk) {
        return new Path(work, String.format("chunk-%06d", chunk));
    }
}
