package io.whetstone.models.bench;

import io.whetstone.models.Architecture;
import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.Variant;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.FrozenDtype;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.optim.AdamW;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.train.Trainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The 0.5B-scale check: a random-init model of Qwen2.5-0.5B's shape (24 layers, width 896, 14 heads, 2 KV heads,
 * head size 64, SwiGLU 4864, vocabulary 151,936, tied, q/k/v biases), LoRA (rank 8 on all seven projections)
 * training steps on one sequence, then KV-cache sampling. One JSON line: step time, peak memory, tokens/s.
 * {@code bench/peer_lora_torch.py} is the PyTorch peer doing the same.
 */
public final class LoraScaleBenchmark {

    static final List<String> TARGETS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj");

    private LoraScaleBenchmark() {
    }

    /** Qwen2.5-0.5B's shape with a context of {@code maxSeqLen}. */
    public static ModelConfig qwen25HalfB(int maxSeqLen) {
        return new ModelConfig(Family.LLAMA, 151_936, 896, 24, 14, 2, 4864, maxSeqLen, 1e-6, 1_000_000.0, true,
                Variant.plain(Architecture.QWEN2).withBiases(true, false));
    }

    /** Runs {@code steps} timed steps (after one untimed) at {@code seqLen}, then sampling; one JSON line. */
    public static String run(int threads, int steps, int seqLen) {
        return run(threads, steps, seqLen, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    }

    /** As {@link #run(int, int, int)}, the frozen base kept in {@code frozen} (FLOAT, BFLOAT16 or HALF). */
    public static String run(int threads, int steps, int seqLen, org.nd4j.linalg.api.buffer.DataType frozen) {
        ModelConfig config = qwen25HalfB(seqLen);
        TokenBatch batch = Benchmark.randomBatch(config, 1, seqLen, 1234);
        double[] stepMs = new double[steps];
        double lossFirst;
        double lossLast = Double.NaN;
        double afterTraining;
        double generationTokensPerS;
        int prompts = 4;
        int promptLength = 32;
        int newTokens = 32;
        try (Transformer model = new Transformer(config, EngineOptions.fp32(threads).withFrozenStorage(frozen),
                new LoraConfig(8, 16, 0, TARGETS, 1))) {
            model.initialize(1);
            AdamW optimizer = new AdamW(model.trainableParameters(), model.kernels(), AdamWConfig.defaults());
            Trainer trainer = new Trainer(model, new MaskedCrossEntropy(), optimizer, LrSchedule.constant(1e-4));
            lossFirst = trainer.step(List.of(batch)).loss();
            for (int i = 0; i < steps; i++) {
                long start = System.nanoTime();
                lossLast = trainer.step(List.of(batch)).loss();
                stepMs[i] = (System.nanoTime() - start) / 1e6;
            }
            afterTraining = Benchmark.peakRssMb();
            Random random = new Random(7);
            List<int[]> batchPrompts = new ArrayList<>();
            for (int p = 0; p < prompts; p++) {
                int[] prompt = new int[promptLength];
                for (int i = 0; i < promptLength; i++) {
                    prompt[i] = random.nextInt(config.vocabSize());
                }
                batchPrompts.add(prompt);
            }
            SamplingConfig sampling = new SamplingConfig(newTokens, 1.0, 0, 1.0, 3, new int[0]);
            KvCacheDecoder decoder = new KvCacheDecoder(model);
            decoder.generate(batchPrompts, sampling); // warm-up
            long start = System.nanoTime();
            List<Completion> out = decoder.generate(batchPrompts, sampling);
            double seconds = (System.nanoTime() - start) / 1e9;
            generationTokensPerS = out.stream().mapToInt(c -> c.tokens().length).sum() / seconds;
        }
        double step = Benchmark.median(stepMs);
        return String.format(Locale.ROOT, "{\"config\": \"qwen2.5-0.5b-shape\", \"engine\": \"whetstone\", "
                        + "\"kind\": \"lora-sft\", \"frozen_dtype\": \"" + FrozenDtype.name(frozen) + "\", \"threads\": %d, \"seq_len\": %d, \"lora_rank\": 8, \"step_ms\": %.0f, "
                        + "\"tokens_per_s\": %.1f, \"peak_rss_mb_training\": %.0f, \"peak_rss_mb\": %.0f, "
                        + "\"generation_tokens_per_s\": %.1f, \"generation\": \"%d prompts x %d tokens, %d new\", "
                        + "\"loss_first\": %.4f, \"loss_last\": %.4f}",
                threads, seqLen, step, seqLen / (step / 1e3), afterTraining, Benchmark.peakRssMb(),
                generationTokensPerS, prompts, promptLength, newTokens, lossFirst, lossLast);
    }
}
