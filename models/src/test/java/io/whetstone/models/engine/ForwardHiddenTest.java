package io.whetstone.models.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.kernels.KernelChoice;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** The hidden-states-only pass leaves exactly the final hidden states the full forward pass leaves, and no backward. */
class ForwardHiddenTest {

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("io.whetstone.models.engine.CausalityTest#cases")
    void equalsTheFullForwardPassesHiddenStates(ModelConfig config, KernelChoice kernels) {
        int seqLen = 12;
        try (Transformer model = new Transformer(config, new EngineOptions(DataType.FLOAT, kernels, 2))) {
            model.initialize(4);
            model.parameters().params().muli(3);
            int[] tokens = new int[3 * seqLen];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = (i * 11 + 5) % config.vocabSize();
            }
            int[] targets = new int[tokens.length];
            Arrays.fill(targets, -1);
            model.forward(tokens, targets, 3, seqLen);
            float[] full = model.finalHidden().dup().data().asFloat();
            float[] hidden = model.forwardHidden(tokens, 3, seqLen).dup().data().asFloat();
            assertArrayEquals(full, hidden, 0f);
            assertThrows(IllegalStateException.class, () -> model.backward(Nd4j.zeros(DataType.FLOAT, 3, seqLen), null),
                    "no backward after a hidden-states-only pass");
        }
    }
}
