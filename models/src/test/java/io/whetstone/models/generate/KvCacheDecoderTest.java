package io.whetstone.models.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.lora.LoraWeights;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class KvCacheDecoderTest {

    static Stream<ModelConfig> models() {
        // head sizes 12, 8, 64 and 40: the sampler's attention takes 1, 2 or 4 vectors of a head at a time
        return Stream.of(ModelConfig.gpt2(40, 24, 2, 2, 48), ModelConfig.llama(40, 32, 2, 4, 2, 40, 48),
                ModelConfig.gpt2(40, 128, 1, 2, 48), ModelConfig.llama(40, 80, 1, 2, 1, 64, 48));
    }

    private static Transformer model(ModelConfig config) {
        Transformer model = new Transformer(config, EngineOptions.fp32(2));
        model.initialize(11);
        model.parameters().params().muli(8); // peaked enough that sampling and greedy differ
        return model;
    }

    private static List<int[]> prompts(int vocab) {
        Random random = new Random(2);
        List<int[]> prompts = new ArrayList<>();
        for (int length : new int[] {1, 5, 9, 3}) {
            int[] prompt = new int[length];
            for (int i = 0; i < length; i++) {
                prompt[i] = random.nextInt(vocab);
            }
            prompts.add(prompt);
        }
        return prompts;
    }

    @ParameterizedTest
    @MethodSource("models")
    void cachedGreedyEqualsUncachedGreedy(ModelConfig config) {
        try (Transformer model = model(config)) {
            List<int[]> prompts = prompts(config.vocabSize());
            List<Completion> cached = new KvCacheDecoder(model).generate(prompts, SamplingConfig.greedy(20, 7));
            List<int[]> uncached = new GreedyDecoder(model).generate(prompts, 20, new int[] {7});
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(uncached.get(i), cached.get(i).tokens(), "prompt " + i);
            }
        }
    }

    /** Sampler log-probs equal the log-probs of a teacher-forced forward pass over prompt + completion. */
    @ParameterizedTest
    @MethodSource("models")
    void samplerLogProbsEqualTeacherForcedLogProbs(ModelConfig config) {
        try (Transformer model = model(config)) {
            // 1e-4: the sampler's GEMMs are OpenBLAS's (kernels.Gemm), the trainer's ND4J's op; their last-bit
            // differences (1e-6 relative, GemmTest) reach 4e-5 in log-prob through these weights scaled by 8
            assertSamplerMatchesTrainer(model, model, 1e-4);
        }
    }

    /**
     * With LoRA adapters the sampler samples from the model that trains (base plus adapters), not the frozen base:
     * its log-probs equal the trainer's forward pass with the adapters, and differ from the base model's.
     */
    @ParameterizedTest
    @MethodSource("models")
    void withLoraTheSamplerSeesTheAdapters(ModelConfig config) {
        LoraConfig lora = new LoraConfig(4, 8, 0, List.of(), 3).forFamily(config.family());
        try (Transformer model = new Transformer(config, EngineOptions.fp32(2), lora);
             Transformer base = model(config)) {
            model.initialize(11);
            model.parameters().params().muli(8);
            // Trained adapters are non-zero (B starts at zero); give every A and B values of a trained size, from a
            // seeded generator (unseeded, the adapters and so the rounding below changed from run to run).
            Nd4j.getRandom().setSeed(1);
            model.trainableParameters().params().assign(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT,
                    model.trainableParameters().params().length()).subi(0.5).muli(0.6));
            model.setDropoutSeed(null);
            // The sampler applies the adapters beside the base GEMMs as the trainer's LoRA forward does, in another
            // summation order: with weights scaled by 8 and adapters of trained size the rounding reached 7e-5 (GPT-2)
            // and 2e-4 (Llama) over twelve adapter seeds (measured), so this pair is compared at 5e-4; without the
            // adapters the error is about 2.
            assertSamplerMatchesTrainer(model, model, 5e-4);
            // And the model export writes (LoraWeights.merge) is the same model up to the rounding of the merge,
            // which with weights scaled by 8 reaches a few 1e-4 in log-prob.
            float[] merged = LoraWeights.merge(config, TrainingState.toFloats(model.parameters().params()),
                    model.lora(), TrainingState.toFloats(model.trainableParameters().params()));
            try (Transformer exported = new Transformer(config, EngineOptions.fp32(2))) {
                TrainingState.copyInto(merged, exported.parameters().params());
                assertSamplerMatchesTrainer(model, exported, 2e-3);
            }

            SamplingConfig greedy = SamplingConfig.greedy(12, 7);
            List<int[]> prompts = prompts(config.vocabSize());
            List<Completion> adapted = new KvCacheDecoder(model).generate(prompts, greedy);
            List<Completion> frozen = new KvCacheDecoder(base).generate(prompts, greedy);
            assertNotEquals(java.util.Arrays.toString(frozen.get(2).logProbs()),
                    java.util.Arrays.toString(adapted.get(2).logProbs()), "the adapters change what is sampled");
        }
    }

    /** {@code sampler}'s samples have the log-probs a teacher-forced pass of {@code trainer} gives them. */
    private static void assertSamplerMatchesTrainer(Transformer sampler, Transformer trainer, double tolerance) {
        ModelConfig config = sampler.config();
        List<int[]> prompts = prompts(config.vocabSize());
        SamplingConfig sampling = new SamplingConfig(16, 0.9, 12, 0.95, 5, new int[0]);
        List<Completion> completions = new KvCacheDecoder(sampler).generate(prompts, sampling);
        for (int i = 0; i < prompts.size(); i++) {
            int[] prompt = prompts.get(i);
            Completion completion = completions.get(i);
            int length = prompt.length + completion.tokens().length;
            int[] tokens = new int[length];
            System.arraycopy(prompt, 0, tokens, 0, prompt.length);
            System.arraycopy(completion.tokens(), 0, tokens, prompt.length, completion.tokens().length);
            int[] targets = new int[length];
            for (int t = 0; t < length; t++) {
                targets[t] = t + 1 < length ? tokens[t + 1] : -1;
            }
            ForwardPass pass = trainer.forward(tokens, targets, 1, length);
            for (int k = 0; k < completion.tokens().length; k++) {
                float teacher = pass.logProbs().getFloat(0, prompt.length - 1 + k);
                assertEquals(teacher, completion.logProbs()[k], tolerance * Math.max(1, Math.abs(teacher)),
                        "prompt " + i + " token " + k);
                assertTrue(completion.samplerLogProbs()[k] <= 1e-6);
            }
        }
    }

    @Test
    void seededSamplingIsReproducibleAndIndependentOfTheBatch() {
        ModelConfig config = ModelConfig.llama(40, 32, 2, 4, 2, 40, 48);
        try (Transformer model = model(config)) {
            KvCacheDecoder decoder = new KvCacheDecoder(model);
            List<int[]> prompts = prompts(config.vocabSize());
            SamplingConfig sampling = new SamplingConfig(12, 1.0, 0, 1.0, 9, new int[0]);
            long[] seeds = {11, 22, 33, 44};
            List<Completion> together = decoder.generate(prompts, sampling, seeds, null);
            List<Completion> again = decoder.generate(prompts, sampling, seeds, null);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(together.get(i).tokens(), again.get(i).tokens());
                Completion alone = decoder.generate(List.of(prompts.get(i)), sampling, new long[] {seeds[i]}, null).get(0);
                assertArrayEquals(together.get(i).tokens(), alone.tokens(), "prompt " + i + " alone");
            }
            List<Completion> otherSeeds = decoder.generate(prompts, sampling, new long[] {1, 2, 3, 4}, null);
            assertNotEquals(java.util.Arrays.toString(together.get(2).tokens()),
                    java.util.Arrays.toString(otherSeeds.get(2).tokens()));
        }
    }

    /**
     * Rows sharing a prompt share its prefilled cache: N samples of each of two prompts (interleaved, of
     * different lengths) give, row by row, the tokens and log-probs of that row sampled alone.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @MethodSource("models")
    void samplesOfASharedPromptEqualEachSampledAlone(ModelConfig config) {
        try (Transformer model = model(config)) {
            KvCacheDecoder decoder = new KvCacheDecoder(model);
            List<int[]> distinct = prompts(config.vocabSize());
            List<int[]> rows = new java.util.ArrayList<>();
            long[] seeds = new long[8];
            for (int i = 0; i < 8; i++) {
                rows.add(distinct.get(i % 2 == 0 ? 0 : 1).clone());
                seeds[i] = 100 + i;
            }
            SamplingConfig sampling = new SamplingConfig(10, 1.0, 0, 1.0, 9, new int[0]);
            List<Completion> shared = decoder.generate(rows, sampling, seeds, null);
            java.util.Set<String> different = new java.util.HashSet<>();
            for (int i = 0; i < rows.size(); i++) {
                Completion alone = decoder.generate(List.of(rows.get(i)), sampling, new long[] {seeds[i]}, null)
                        .get(0);
                assertArrayEquals(alone.tokens(), shared.get(i).tokens(), "row " + i);
                // 1e-4: a batch of 8 and a batch of 1 go through different GEMM blockings (1.4e-5 apart on AVX2).
                assertArrayEquals(alone.logProbs(), shared.get(i).logProbs(), 1e-4f, "row " + i);
                different.add(java.util.Arrays.toString(shared.get(i).tokens()));
            }
            assertTrue(different.size() > 2, "the samples of one prompt differ");
        }
    }

    /**
     * The sampler splits attention (prefill by prompt, decode by row) and token choice (by row) over the engine's
     * threads: one thread and two give the same samples to the bit. The batch is large enough for the split.
     */
    @Test
    void samplingIsTheSameOnOneThreadAndOnTwo() {
        ModelConfig config = ModelConfig.gpt2(128, 128, 1, 2, 96);
        List<int[]> rows = new java.util.ArrayList<>();
        Random random = new Random(5);
        for (int i = 0; i < 48; i++) {
            int[] prompt = new int[8 + 5 * (i % 8)];
            for (int t = 0; t < prompt.length; t++) {
                prompt[t] = random.nextInt(128);
            }
            rows.add(prompt);
        }
        SamplingConfig sampling = new SamplingConfig(40, 1.0, 0, 1.0, 3, new int[0]);
        List<List<Completion>> runs = new java.util.ArrayList<>();
        for (int threads : new int[] {1, 2}) {
            try (Transformer model = new Transformer(config, EngineOptions.fp32(threads))) {
                model.initialize(11);
                model.parameters().params().muli(4);
                runs.add(new KvCacheDecoder(model).generate(rows, sampling));
            }
        }
        for (int i = 0; i < rows.size(); i++) {
            Completion one = runs.get(0).get(i);
            Completion two = runs.get(1).get(i);
            assertArrayEquals(one.tokens(), two.tokens(), "row " + i);
            assertArrayEquals(one.logProbs(), two.logProbs(), "row " + i);
            assertArrayEquals(one.samplerLogProbs(), two.samplerLogProbs(), "row " + i);
            assertArrayEquals(one.samplerEntropy(), two.samplerEntropy(), "row " + i);
        }
    }

    @Test
    void aRowStopsWhereTheModelsContextEnds() {
        ModelConfig config = ModelConfig.llama(40, 32, 2, 4, 2, 40, 12);
        try (Transformer model = model(config)) {
            List<Completion> out = new KvCacheDecoder(model).generate(List.of(new int[] {1, 2, 3, 4, 5, 6, 7, 8},
                    new int[] {1, 2}), new SamplingConfig(20, 1.0, 0, 1.0, 3, new int[0]));
            // a token fed at position p needs p < max_seq_len: 12 - 8 + 1 and 12 - 2 + 1 tokens
            assertEquals(5, out.get(0).tokens().length);
            assertEquals(Completion.Finish.CONTEXT, out.get(0).finish());
            assertEquals(11, out.get(1).tokens().length);
        }
    }

    /** The one-pass vectorised chooser against the plain two-pass one, on the same draws. */
    @Test
    void theFastChooserAgreesWithTheReference() {
        Random random = new Random(3);
        SamplingConfig sampling = new SamplingConfig(1, 1.0, 0, 1.0, 1, new int[0]);
        int vocab = 203;
        int same = 0;
        int trials = 3000;
        for (int trial = 0; trial < trials; trial++) {
            float[] logits = new float[io.whetstone.models.kernels.VectorMath.padded(vocab)];
            for (int i = 0; i < vocab; i++) {
                logits[i] = (float) (random.nextGaussian() * 3);
            }
            float[] expected = TokenChooser.reference(logits.clone(), vocab, sampling, new java.util.SplittableRandom(trial));
            float[] actual = TokenChooser.choose(logits.clone(), vocab, sampling, new java.util.SplittableRandom(trial));
            assertEquals(expected[3], actual[3], 1e-4f, "the distribution's entropy");
            double entropy = 0; // from its definition, in double
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < vocab; i++) {
                max = Math.max(max, logits[i]);
            }
            double z = 0;
            for (int i = 0; i < vocab; i++) {
                z += Math.exp(logits[i] - max);
            }
            for (int i = 0; i < vocab; i++) {
                double p = Math.exp(logits[i] - max) / z;
                entropy -= p * Math.log(p);
            }
            assertEquals(entropy, expected[3], 1e-5);
            if (expected[0] == actual[0]) {
                same++;
                assertEquals(expected[1], actual[1], 1e-5f);
                assertEquals(expected[2], actual[2], 1e-5f);
            }
        }
        // float weights move the draw's boundaries by rounding only: a different token is a rare boundary case
        assertTrue(same >= trials - 3, same + " of " + trials);
    }

    @Test
    void stopsAtStopIdsAndLengthAndReportsWhy() {
        ModelConfig config = ModelConfig.gpt2(40, 24, 2, 2, 48);
        try (Transformer model = model(config)) {
            KvCacheDecoder decoder = new KvCacheDecoder(model);
            int[] prompt = {3, 4};
            int[] greedy = decoder.generate(List.of(prompt), SamplingConfig.greedy(10)).get(0).tokens();
            Completion stopped = decoder.generate(List.of(prompt), SamplingConfig.greedy(10, greedy[2])).get(0);
            assertEquals(Completion.Finish.STOP, stopped.finish());
            assertEquals(greedy[2], stopped.tokens()[stopped.tokens().length - 1]);
            Completion length = decoder.generate(List.of(prompt), SamplingConfig.greedy(4)).get(0);
            assertEquals(Completion.Finish.LENGTH, length.finish());
            assertEquals(4, length.tokens().length);
        }
    }

    @Test
    void topKOfOneIsGreedyAndSamplerLogProbIsThatOfTheTruncatedDistribution() {
        float[] logits = {0.5f, 2.0f, 1.0f, -1.0f};
        float[] greedy = TokenChooser.choose(logits, 4, SamplingConfig.greedy(1), new SplittableRandom(1));
        float[] topOne = TokenChooser.choose(logits, 4, new SamplingConfig(1, 1.0, 1, 1.0, 0, new int[0]),
                new SplittableRandom(1));
        assertEquals(1f, greedy[0]);
        assertEquals(0f, greedy[3]);
        assertEquals(1f, topOne[0]);
        assertEquals(0f, topOne[2], 1e-7);
        // top-k 2 at temperature 1: p(1) = e^2 / (e^2 + e^1)
        int[] counts = new int[4];
        SplittableRandom random = new SplittableRandom(3);
        SamplingConfig topTwo = new SamplingConfig(1, 1.0, 2, 1.0, 0, new int[0]);
        for (int i = 0; i < 20000; i++) {
            float[] choice = TokenChooser.choose(logits, 4, topTwo, random);
            counts[(int) choice[0]]++;
            double expected = choice[0] == 1 ? Math.log(Math.exp(2) / (Math.exp(2) + Math.exp(1)))
                    : Math.log(Math.exp(1) / (Math.exp(2) + Math.exp(1)));
            assertEquals(expected, choice[2], 1e-6);
            double p = Math.exp(2) / (Math.exp(2) + Math.exp(1));
            assertEquals(-p * Math.log(p) - (1 - p) * Math.log(1 - p), choice[3], 1e-6, "the truncated one's entropy");
        }
        assertEquals(0, counts[0] + counts[3]);
        double share = counts[1] / 20000.0;
        assertEquals(Math.exp(2) / (Math.exp(2) + Math.exp(1)), share, 0.015);
    }
}
