package io.whetstone.models.bench;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Times KV-cache sampling: {@code prompts} random prompts of {@code promptLength} tokens, each sampled
 * {@code samples} times (rows of one prompt share its prefilled cache), each sample extended by exactly
 * {@code newTokens} tokens (temperature 1, no stop token); median of several runs after warm-up. Reports
 * generated tokens per second (all samples' tokens; the prefill's time is included).
 */
public final class GenerationBenchmark {

    private final BenchShape shape;
    private final Family family;
    private final EngineOptions options;
    private final int prompts;
    private final int promptLength;
    private final int newTokens;
    private final int runs;
    private final int samples;

    public GenerationBenchmark(BenchShape shape, Family family, EngineOptions options, int prompts, int promptLength,
                               int newTokens, int runs) {
        this(shape, family, options, prompts, promptLength, newTokens, runs, 1);
    }

    public GenerationBenchmark(BenchShape shape, Family family, EngineOptions options, int prompts, int promptLength,
                               int newTokens, int runs, int samples) {
        this.samples = samples;
        this.shape = shape;
        this.family = family;
        this.options = options;
        this.prompts = prompts;
        this.promptLength = promptLength;
        this.newTokens = newTokens;
        this.runs = runs;
    }

    /** One JSON line. */
    public String run() {
        ModelConfig base = shape.model(family);
        ModelConfig config = new ModelConfig(base.family(), base.vocabSize(), base.width(), base.layers(), base.heads(),
                base.kvHeads(), base.ffnHidden(), Math.max(base.maxSeqLen(), promptLength + newTokens), base.normEps(),
                base.ropeTheta(), base.tiedEmbeddings(), base.variant());
        Random random = new Random(7);
        List<int[]> batch = new ArrayList<>();
        for (int p = 0; p < prompts; p++) {
            int[] prompt = new int[promptLength];
            for (int i = 0; i < promptLength; i++) {
                prompt[i] = random.nextInt(config.vocabSize());
            }
            for (int n = 0; n < samples; n++) {
                batch.add(prompt);
            }
        }
        SamplingConfig sampling = new SamplingConfig(newTokens, 1.0, 0, 1.0, 3, new int[0]);
        double[] seconds = new double[runs];
        try (Transformer model = new Transformer(config, options)) {
            model.initialize(1);
            KvCacheDecoder decoder = new KvCacheDecoder(model);
            for (int i = 0; i < 3; i++) {
                decoder.generate(batch, sampling);
            }
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                List<Completion> out = decoder.generate(batch, sampling);
                seconds[i] = (System.nanoTime() - start) / 1e9;
                for (Completion completion : out) {
                    if (completion.tokens().length != newTokens) {
                        throw new IllegalStateException("expected " + newTokens + " tokens, got "
                                + completion.tokens().length);
                    }
                }
            }
        }
        Arrays.sort(seconds);
        double median = seconds[runs / 2];
        return String.format(Locale.ROOT, "{\"config\": \"%s\", \"family\": \"%s\", \"engine\": \"whetstone\", "
                        + "\"kind\": \"generation\", \"prompts\": %d, \"samples\": %d, \"prompt_tokens\": %d, "
                        + "\"new_tokens\": %d, \"seconds\": %.4f, \"tokens_per_s\": %.1f, \"peak_rss_mb\": %.0f}",
                shape.name(), family.id(), prompts, samples, promptLength, newTokens, median,
                (double) prompts * samples * newTokens / median,
                Benchmark.peakRssMb());
    }
}
