package io.whetstone.models.lora;

import static io.whetstone.models.GradientCheck.maxRelativeError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.Arrays4Test;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.HfFormat;
import io.whetstone.models.checkpoint.Tensor;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.engine.TensorSpec;
import io.whetstone.models.engine.TinyModels;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.objectives.ObjectiveResult;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class LoraTest {

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of(TinyModels.gpt2(), List.of("c_attn", "c_proj", "c_fc"), 0.0),
                Arguments.of(TinyModels.llama(), List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                        "up_proj", "down_proj"), 0.0),
                Arguments.of(TinyModels.llama(), List.of("q_proj", "v_proj", "down_proj"), 0.3),
                Arguments.of(TinyModels.phi3(), List.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj"), 0.0),
                Arguments.of(TinyModels.qwen3(), List.of("q_proj", "k_proj", "v_proj"), 0.0));
    }

    private static Transformer model(ModelConfig config, LoraConfig lora, EngineOptions options) {
        Transformer model = new Transformer(config, options, lora);
        model.initialize(7);
        model.parameters().params().muli(4);
        // B starts at zero; make it generic so that every adapter path carries gradient.
        model.trainableParameters().params().assign(Arrays4Test.gaussian(new Random(3), options.dataType(), 0.3,
                model.trainableParameters().params().length()));
        return model;
    }

    /** Finite differences in double over every adapter tensor; the frozen base gets no gradient. */
    @ParameterizedTest(name = "{0} {1} dropout {2}")
    @MethodSource("models")
    void adapterGradientsMatchFiniteDifferences(ModelConfig config, List<String> targets, double dropout) {
        LoraConfig lora = new LoraConfig(3, 6, dropout, targets, 11);
        try (Transformer model = model(config, lora, EngineOptions.fp64Reference())) {
            TokenBatch batch = TinyModels.batch(config, 2, 5, 42);
            MaskedCrossEntropy objective = new MaskedCrossEntropy();
            DoubleSupplier loss = () -> {
                model.setDropoutSeed(99L);
                ForwardPass pass = model.forward(batch.tokens(), batch.targets(), 2, 5);
                return objective.evaluate(pass, batch, batch.maskedTokens()).loss();
            };
            model.trainableParameters().zeroGrads();
            model.parameters().zeroGrads();
            model.setDropoutSeed(99L);
            ObjectiveResult result = objective.evaluate(model.forward(batch.tokens(), batch.targets(), 2, 5), batch,
                    batch.maskedTokens());
            model.backward(result.dLogProbs(), null);
            ParameterStore adapters = model.trainableParameters();
            INDArray analytic = adapters.grads().dup();
            List<String> failures = new ArrayList<>();
            for (TensorSpec spec : adapters.layout().tensors()) {
                long offset = adapters.layout().offset(spec.name());
                INDArray gradient = analytic.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(offset,
                        offset + spec.length()));
                double error = maxRelativeError(adapters.tensor(spec.name()), gradient, loss, 30);
                if (!(error < 1e-5)) {
                    failures.add(spec.name() + " " + error);
                }
            }
            assertTrue(failures.isEmpty(), failures.toString());
            // The frozen base's matrices get no gradient (their GEMMs are skipped); norm and bias gradients
            // fall out of passes that run anyway and are never applied.
            // so the base keeps no storage for them at all
            for (TensorSpec spec : model.parameters().layout().tensors()) {
                assertEquals(!spec.decay(), model.parameters().gradient(spec.name()) != null, spec.name());
            }
            assertEquals(model.parameters().layout().length() - model.parameters().layout().decayedLength(),
                    model.parameters().grads().length());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("models")
    void mergedWeightsGiveTheSameLogitsAndPeftRoundTrips(ModelConfig config, List<String> targets, double ignored) {
        LoraConfig lora = new LoraConfig(4, 8, 0.0, targets, 5);
        EngineOptions fp32 = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1);
        TokenBatch batch = TinyModels.batch(config, 2, 5, 8);
        try (Transformer adapted = model(config, lora, fp32); Transformer merged = new Transformer(config, fp32)) {
            float[] base = TrainingState.toFloats(adapted.parameters().params());
            float[] adapters = TrainingState.toFloats(adapted.trainableParameters().params());
            TrainingState.copyInto(LoraWeights.merge(config, base, adapted.lora(), adapters), merged.parameters().params());
            INDArray a = adapted.forward(batch.tokens(), batch.targets(), 2, 5).logits().dup();
            INDArray b = merged.forward(batch.tokens(), batch.targets(), 2, 5).logits();
            assertTrue(Arrays4Test.relativeError(a, b) < 1e-5, "merged logits differ by " + Arrays4Test.relativeError(a, b));

            Map<String, Tensor> peft = LoraWeights.toPeft(config, adapted.lora(), adapters);
            assertArrayEquals(adapters, LoraWeights.fromPeft(config, adapted.lora(), peft, "adapter_model.safetensors"));
            // PEFT's merge in Hugging Face layout, W_hf += s * lora_B @ lora_A, equals exporting the merged model.
            ParameterStore baseStore = new ParameterStore(ParameterLayout.of(config), DataType.FLOAT);
            TrainingState.copyInto(base, baseStore.params());
            Map<String, Tensor> hfBase = HfFormat.export(baseStore, config);
            Map<String, Tensor> hfMerged = HfFormat.export(merged.parameters(), config);
            for (LoraSite site : adapted.lora().sites()) {
                INDArray loraA = array(peft.get(site.peftPath() + ".lora_A.weight"));
                INDArray loraB = array(peft.get(site.peftPath() + ".lora_B.weight"));
                INDArray delta = loraB.mmul(loraA).muli(lora.scale()); // [out, in]
                String hfName = site.peftPath().replace("base_model.model.", "").replace("transformer.", "") + ".weight";
                INDArray expected = array(hfBase.get(hfName));
                expected = config.family() == io.whetstone.models.Family.GPT2 ? expected.add(delta.transpose())
                        : expected.add(delta);
                assertTrue(Arrays4Test.relativeError(expected, array(hfMerged.get(hfName))) < 1e-5, hfName);
            }
        }
    }

    @Test
    void unknownTargetsAreNamed() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> new Transformer(TinyModels.gpt2(), EngineOptions.fp32(1), new LoraConfig(2, 4, 0, List.of("q_proj"), 1)));
        assertTrue(error.getMessage().contains("gpt2 has no module 'q_proj'"), error.getMessage());
    }

    @Test
    void emptyTargetsMeanTheFamilysDefaults() {
        LoraConfig none = new LoraConfig(2, 4, 0, List.of(), 1);
        assertEquals(java.util.Set.of("c_attn"), new LoraLayout(TinyModels.gpt2(), none).sites().stream()
                .map(LoraSite::module).collect(java.util.stream.Collectors.toSet()));
        assertEquals(java.util.Set.of("q_proj", "v_proj"), new LoraLayout(TinyModels.llama(), none).sites().stream()
                .map(LoraSite::module).collect(java.util.stream.Collectors.toSet()));
        assertEquals(java.util.Set.of("qkv_proj"), new LoraLayout(TinyModels.phi3(), none).sites().stream()
                .map(LoraSite::module).collect(java.util.stream.Collectors.toSet()));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> new LoraLayout(
                TinyModels.phi3(), new LoraConfig(2, 4, 0, List.of("q_proj"), 1)));
        assertTrue(error.getMessage().contains("phi3 has no module 'q_proj'"), error.getMessage());
    }

    private static INDArray array(Tensor tensor) {
        return Nd4j.createFromArray(tensor.values()).reshape(tensor.shape());
    }
}
