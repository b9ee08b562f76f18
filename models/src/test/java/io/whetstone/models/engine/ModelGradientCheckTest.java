package io.whetstone.models.engine;

import static io.whetstone.models.GradientCheck.maxRelativeError;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.Arrays4Test;
import io.whetstone.models.GradientCheck;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.objectives.ObjectiveResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Finite-difference check, in double, of the whole model's backward: the masked cross-entropy with a
 * random loss mask plus a random functional of the logits (so both backward inputs are exercised),
 * checked tensor by tensor, so each layer type is named in a failure: embeddings and positions, norms,
 * the fused qkv projection (attention with causal mask, GQA and RoPE for Llama), output projection,
 * MLPs (GELU, SwiGLU, GeGLU) and the LM head (tied for GPT-2, untied for Llama), and each variant's layers:
 * q/k/v and output biases, per-head q/k norms, a head size independent of the width, the scaled embedding.
 */
class ModelGradientCheckTest {

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of("gpt2", TinyModels.gpt2(), KernelChoice.REFERENCE, GradientCheck.STEP),
                Arguments.of("llama-gqa", TinyModels.llama(), KernelChoice.REFERENCE, GradientCheck.STEP),
                Arguments.of("gpt2", TinyModels.gpt2(), KernelChoice.ND4J, GradientCheck.STEP),
                Arguments.of("llama-gqa", TinyModels.llama(), KernelChoice.ND4J, GradientCheck.STEP),
                Arguments.of("qwen2 (qkv biases)", TinyModels.qwen2(), KernelChoice.REFERENCE, GradientCheck.STEP),
                Arguments.of("llama (attention_bias, llama3 rope)", TinyModels.llamaWithBiases(),
                        KernelChoice.REFERENCE, GradientCheck.STEP),
                // Per-head RMSNorm of 6 features curves the loss: with a 1e-5 step the embedding's error is
                // 1.2e-4, with 1e-6 it passes below 1e-5, the h^2 fall of a truncation error (measured).
                Arguments.of("qwen3 (q/k norm, head_dim)", TinyModels.qwen3(), KernelChoice.REFERENCE, 1e-6),
                Arguments.of("qwen3 (q/k norm, head_dim)", TinyModels.qwen3(), KernelChoice.ND4J, 1e-6),
                // GeGLU on the ND4J kernels is checked alone in KernelGradientCheckTest
                Arguments.of("gemma (scaled embedding, GeGLU, head_dim)", TinyModels.gemma(), KernelChoice.REFERENCE,
                        GradientCheck.STEP));
    }

    @ParameterizedTest(name = "{0} with {2} kernels")
    @MethodSource("models")
    void everyTensorMatchesFiniteDifferences(String name, ModelConfig config, KernelChoice kernels, double step) {
        try (Transformer model = new Transformer(config, new EngineOptions(DataType.DOUBLE, kernels, 1))) {
            model.initialize(7);
            // Larger than the init's 0.02 so that every path carries a visible gradient.
            model.parameters().params().muli(4);
            randomizeNorms(model, new Random(3));
            TokenBatch batch = TinyModels.batch(config, 2, 5, 42);
            INDArray logitWeights = Arrays4Test.gaussian(new Random(5), DataType.DOUBLE, 0.1, 10, config.vocabSize());
            MaskedCrossEntropy objective = new MaskedCrossEntropy();
            double normalizer = batch.maskedTokens();

            DoubleSupplier loss = () -> {
                ForwardPass pass = model.forward(batch.tokens(), batch.targets(), 2, 5);
                double logitTerm = logitWeights.mul(pass.logits()).sumNumber().doubleValue();
                return objective.evaluate(pass, batch, normalizer).loss() + logitTerm;
            };
            model.parameters().zeroGrads();
            ForwardPass pass = model.forward(batch.tokens(), batch.targets(), 2, 5);
            ObjectiveResult result = objective.evaluate(pass, batch, normalizer);
            model.backward(result.dLogProbs(), logitWeights.dup());
            INDArray analytic = model.parameters().grads().dup();

            List<String> failures = new ArrayList<>();
            for (TensorSpec spec : model.parameters().layout().tensors()) {
                long offset = model.parameters().layout().offset(spec.name());
                INDArray parameter = model.parameters().tensor(spec.name());
                INDArray gradient = analytic.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(offset,
                        offset + spec.length()));
                double error = maxRelativeError(parameter, gradient, loss, 48, step);
                if (!(error < 1e-5)) {
                    failures.add(spec.name() + " error " + error);
                }
            }
            assertTrue(failures.isEmpty(), name + ": " + failures);
        }
    }

    /** Norm weights start at exactly 1 and biases at 0; perturb them so their gradients are generic. */
    private static void randomizeNorms(Transformer model, Random random) {
        for (TensorSpec spec : model.parameters().layout().tensors()) {
            if (!spec.decay()) {
                INDArray view = model.parameters().tensor(spec.name());
                view.addi(Arrays4Test.gaussian(random, DataType.DOUBLE, 0.3, spec.shape()));
            }
        }
    }
}
