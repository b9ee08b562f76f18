package io.whetstone.models.engine;

import static io.whetstone.models.Arrays4Test.relativeError;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.whetstone.models.Architecture;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.Variant;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.objectives.ObjectiveResult;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The fp32 fast paths of the whole model against the fp64 reference on identical weights: log-probs,
 * logits, loss and every gradient. Shapes are not multiples of the vector width.
 */
class ModelParityTest {

    static Stream<Arguments> cases() {
        ModelConfig gpt2 = ModelConfig.gpt2(67, 40, 2, 4, 12);
        ModelConfig llama = ModelConfig.llama(67, 48, 2, 6, 2, 72, 12);
        return Stream.of(
                Arguments.of("gpt2", gpt2, KernelChoice.FUSED_CPU),
                Arguments.of("llama-gqa", llama, KernelChoice.FUSED_CPU),
                Arguments.of("gpt2", gpt2, KernelChoice.ND4J),
                Arguments.of("llama-gqa", llama, KernelChoice.ND4J),
                // the variants' own layers on the fused path: q/k/v biases, per-head q/k norms with a head size
                // apart from the width, Gemma's scaled embedding and GeGLU
                Arguments.of("qwen2", llama.withVariant(Variant.plain(Architecture.QWEN2).withBiases(true, false)),
                        KernelChoice.FUSED_CPU),
                Arguments.of("qwen3", llama.withVariant(Variant.plain(Architecture.QWEN3).withQkNorm(true)
                        .withHeadDim(16)), KernelChoice.FUSED_CPU),
                Arguments.of("gemma", llama.withVariant(Variant.plain(Architecture.GEMMA).withHeadDim(12))
                        .withTiedEmbeddings(true), KernelChoice.FUSED_CPU));
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("cases")
    void fp32MatchesReference(String name, ModelConfig config, KernelChoice kernels) {
        assumeTrue(kernels != KernelChoice.FUSED_CPU || KernelChoice.cpuBackend(),
                "the fused kernels read host memory: CPU backend only");
        TokenBatch batch = TinyModels.batch(config, 3, 9, 11);
        try (Transformer reference = new Transformer(config, EngineOptions.fp64Reference());
             Transformer fast = new Transformer(config, new EngineOptions(DataType.FLOAT, kernels, 2))) {
            reference.initialize(3);
            reference.parameters().params().muli(5); // away from the near-uniform output of a fresh init
            fast.parameters().params().assign(reference.parameters().params().castTo(DataType.FLOAT));

            Result expected = run(reference, batch);
            Result actual = run(fast, batch);
            assertTrue(relativeError(expected.logProbs, actual.logProbs) < 1e-5, name + " log-probs "
                    + relativeError(expected.logProbs, actual.logProbs));
            assertTrue(relativeError(expected.logits, actual.logits) < 1e-5, name + " logits");
            assertTrue(Math.abs(expected.loss - actual.loss) < 1e-5 * Math.abs(expected.loss), name + " loss");
            for (TensorSpec spec : reference.parameters().layout().tensors()) {
                double error = relativeError(reference.parameters().gradient(spec.name()),
                        fast.parameters().gradient(spec.name()));
                assertTrue(error < 1e-4, name + " gradient of " + spec.name() + " differs by " + error);
            }
        }
    }

    private record Result(INDArray logProbs, INDArray logits, double loss) {
    }

    private static Result run(Transformer model, TokenBatch batch) {
        model.parameters().zeroGrads();
        ForwardPass pass = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
        INDArray logProbs = pass.logProbs().dup();
        INDArray logits = pass.logits().dup();
        ObjectiveResult result = new MaskedCrossEntropy().evaluate(pass, batch, batch.maskedTokens());
        model.backward(result.dLogProbs(), null);
        return new Result(logProbs, logits, result.loss());
    }
}
