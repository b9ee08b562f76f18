package io.whetstone.models.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.Architecture;
import io.whetstone.models.Variant;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.objectives.ObjectiveResult;
import io.whetstone.models.train.TrainingState;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A frozen base kept in BFLOAT16 or HALF computes what the same (rounded) weights compute in fp32: LoRA
 * logits, adapter gradients and samples, and a forward-only model's logits; and it takes half the bytes.
 * Vocabularies above {@link FrozenWeights#BLOCK_ROWS} exercise the blocked LM head.
 */
class FrozenHalfPrecisionTest {

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of(ModelConfig.gpt2(5000, 8, 2, 2, 6), List.of("c_attn", "c_fc"), DataType.BFLOAT16),
                Arguments.of(ModelConfig.llama(5000, 8, 2, 4, 2, 12, 6), List.of("q_proj", "v_proj", "down_proj"),
                        DataType.BFLOAT16),
                Arguments.of(ModelConfig.llama(4500, 8, 2, 4, 2, 12, 6).withVariant(Variant.plain(Architecture.GEMMA)
                        .withHeadDim(6)).withTiedEmbeddings(true), List.of("q_proj", "up_proj"), DataType.HALF));
    }

    /** Random base weights, rounded to {@code storage} so both models hold the same values. */
    private static float[] roundedBase(ModelConfig config, DataType storage) {
        try (Transformer init = new Transformer(config, EngineOptions.fp32(1))) {
            init.initialize(7);
            init.parameters().params().muli(4);
            return TrainingState.toFloats(init.parameters().params().castTo(storage).castTo(DataType.FLOAT));
        }
    }

    private static Transformer adapted(ModelConfig config, LoraConfig lora, EngineOptions options, float[] base) {
        Transformer model = new Transformer(config, options, lora);
        model.parameters().load(base);
        model.trainableParameters().params().assign(Nd4j.randn(new Random(3).nextLong(),
                model.trainableParameters().params().shape()).muli(0.3).castTo(DataType.FLOAT));
        return model;
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("models")
    void aHalfPrecisionLoraBaseComputesWhatFp32Computes(ModelConfig config, List<String> targets, DataType storage) {
        float[] base = roundedBase(config, storage);
        LoraConfig lora = new LoraConfig(3, 6, 0.0, targets, 11);
        EngineOptions fp32 = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1);
        TokenBatch batch = TinyModels.batch(config, 2, 5, 42);
        MaskedCrossEntropy objective = new MaskedCrossEntropy();
        try (Transformer full = adapted(config, lora, fp32, base);
             Transformer half = adapted(config, lora, fp32.withFrozenStorage(storage), base)) {
            assertTrue(half.parameters().splitStorage());
            long matrices = config.vocabSize() > 0 ? half.parameters().layout().decayedLength() : 0;
            assertEquals(full.parameters().parameterBytes() - 2 * matrices, half.parameters().parameterBytes(),
                    "the frozen matrices take 2 bytes each instead of 4");
            assertArrayEquals(TrainingState.toFloats(full.trainableParameters().params()),
                    TrainingState.toFloats(half.trainableParameters().params()));

            INDArray expected = full.forward(batch.tokens(), batch.targets(), 2, 5).logits().dup();
            ObjectiveResult fullResult = objective.evaluate(full.forward(batch.tokens(), batch.targets(), 2, 5),
                    batch, batch.maskedTokens());
            full.trainableParameters().zeroGrads();
            full.backward(fullResult.dLogProbs(), null);
            INDArray actual = half.forward(batch.tokens(), batch.targets(), 2, 5).logits().dup();
            assertTrue(relativeError(expected, actual) < 1e-5, "logits differ by " + relativeError(expected, actual));
            ObjectiveResult halfResult = objective.evaluate(half.forward(batch.tokens(), batch.targets(), 2, 5),
                    batch, batch.maskedTokens());
            half.trainableParameters().zeroGrads();
            half.backward(halfResult.dLogProbs(), null);
            double gradientError = relativeError(full.trainableParameters().grads(), half.trainableParameters().grads());
            assertTrue(gradientError < 1e-4, "adapter gradients differ by " + gradientError);
            assertTrue(full.trainableParameters().grads().norm2Number().doubleValue() > 0);

            SamplingConfig greedy = SamplingConfig.greedy(5, 7);
            List<int[]> prompts = List.of(new int[] {1, 2, 3}, new int[] {4, 5});
            List<Completion> fromFull = new KvCacheDecoder(full).generate(prompts, greedy);
            List<Completion> fromHalf = new KvCacheDecoder(half).generate(prompts, greedy);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(fromFull.get(i).tokens(), fromHalf.get(i).tokens());
            }
        }
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("models")
    void aForwardOnlyModelKeepsHalfPrecisionWeights(ModelConfig config, List<String> targets, DataType storage) {
        float[] base = roundedBase(config, storage);
        EngineOptions fp32 = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1);
        TokenBatch batch = TinyModels.batch(config, 2, 5, 43);
        try (Transformer full = new Transformer(config, fp32);
             Transformer half = Transformer.frozen(config, fp32.withFrozenStorage(storage))) {
            full.parameters().load(base);
            half.parameters().load(base);
            assertTrue(half.parameters().parameterBytes() < 0.55 * full.parameters().parameterBytes());
            INDArray expected = full.forward(batch.tokens(), batch.targets(), 2, 5).logits().dup();
            INDArray actual = half.forward(batch.tokens(), batch.targets(), 2, 5).logits();
            assertTrue(relativeError(expected, actual) < 1e-5, "logits differ by " + relativeError(expected, actual));
        }
    }

    private static double relativeError(INDArray expected, INDArray actual) {
        return expected.sub(actual).norm2Number().doubleValue() / Math.max(1e-12, expected.norm2Number().doubleValue());
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("models")
    void packedParamsLoadAsTheFloatsWouldAndTravelAtHalfSize(ModelConfig config, List<String> targets,
                                                             DataType storage) throws Exception {
        float[] values;
        try (Transformer init = new Transformer(config, EngineOptions.fp32(1))) {
            init.initialize(9);
            values = TrainingState.toFloats(init.parameters().params());
        }
        ParameterLayout layout = ParameterLayout.of(config);
        FrozenParams packed = FrozenParams.of(values, layout, storage);
        assertTrue(packed.packed());
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(packed);
        }
        long fullBytes = 4L * values.length;
        long expected = 2L * layout.decayedLength() + 4L * (values.length - layout.decayedLength());
        assertTrue(bytes.size() < expected + 1024 && bytes.size() < 0.55 * fullBytes, bytes.size() + " bytes");
        FrozenParams received;
        try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
                new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            received = (FrozenParams) in.readObject();
        }
        ParameterStore fromPacked = new ParameterStore(layout, DataType.FLOAT, true, storage);
        ParameterStore fromFloats = new ParameterStore(layout, DataType.FLOAT, true, storage);
        fromPacked.load(received);
        fromFloats.load(values);
        for (TensorSpec spec : layout.tensors()) {
            assertArrayEquals(TrainingState.toFloats(fromFloats.tensor(spec.name()).castTo(DataType.FLOAT)),
                    TrainingState.toFloats(fromPacked.tensor(spec.name()).castTo(DataType.FLOAT)), spec.name());
        }
        ParameterStore plain = new ParameterStore(layout, DataType.FLOAT);
        plain.load(received); // into an fp32 store: the rounded values
        assertArrayEquals(received.toFloats(), TrainingState.toFloats(plain.params()));
        assertArrayEquals(values, FrozenParams.of(values, layout, DataType.FLOAT).toFloats());
    }
}
