package io.whetstone.models.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.kernels.KernelChoice;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Changing the tokens after position t leaves the logits at positions <= t bit-identical. */
class CausalityTest {

    static Stream<Arguments> cases() {
        ModelConfig gpt2 = ModelConfig.gpt2(50, 32, 2, 4, 16);
        ModelConfig llama = ModelConfig.llama(50, 32, 2, 4, 2, 48, 16);
        return Stream.of(
                Arguments.of(gpt2, KernelChoice.FUSED_CPU), Arguments.of(llama, KernelChoice.FUSED_CPU),
                Arguments.of(gpt2, KernelChoice.ND4J), Arguments.of(llama, KernelChoice.ND4J));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void futureTokensDoNotChangeEarlierLogits(ModelConfig config, KernelChoice kernels) {
        int seqLen = 16;
        int cut = 6;
        try (Transformer model = new Transformer(config, new EngineOptions(DataType.FLOAT, kernels, 2))) {
            model.initialize(9);
            model.parameters().params().muli(5);
            int[] tokens = new int[2 * seqLen];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = (i * 7 + 3) % config.vocabSize();
            }
            int[] targets = new int[tokens.length];
            Arrays.fill(targets, -1);
            float[] before = rows(model.forward(tokens, targets, 2, seqLen).logits(), seqLen, cut);
            INDArray allBefore = model.forward(tokens, targets, 2, seqLen).logits().dup();
            int[] changed = tokens.clone();
            for (int b = 0; b < 2; b++) {
                for (int t = cut + 1; t < seqLen; t++) {
                    changed[b * seqLen + t] = (changed[b * seqLen + t] + 1 + t) % config.vocabSize();
                }
            }
            INDArray allAfter = model.forward(changed, targets, 2, seqLen).logits();
            float[] after = rows(allAfter, seqLen, cut);
            assertArrayEquals(before, after, 0f, "logits at positions <= " + cut + " changed");
            assertFalse(allBefore.equals(allAfter), "later logits should change, or the test proves nothing");
        }
    }

    /** Logits of positions 0..cut of both sequences, as one array. */
    private static float[] rows(INDArray logits, int seqLen, int cut) {
        INDArray first = logits.get(NDArrayIndex.interval(0, cut + 1), NDArrayIndex.all());
        INDArray second = logits.get(NDArrayIndex.interval(seqLen, seqLen + cut + 1), NDArrayIndex.all());
        float[] a = first.dup().data().asFloat();
        float[] b = second.dup().data().asFloat();
        float[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
