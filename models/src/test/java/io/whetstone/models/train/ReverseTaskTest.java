package io.whetstone.models.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.optim.AdamW;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Training works end to end: a tiny model learns to reverse a sequence of digits
 * ({@code d1 .. d6 SEP d6 .. d1}, loss on the reversed half only) to >= 99% token accuracy on fresh
 * sequences, scored by teacher-forced argmax.
 */
class ReverseTaskTest {

    private static final int DIGITS = 10;
    private static final int SEP = 10;
    private static final int LENGTH = 6;
    private static final int SEQ = 2 * LENGTH + 1;

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of(ModelConfig.gpt2(11, 64, 2, 4, SEQ)),
                Arguments.of(ModelConfig.llama(11, 64, 2, 4, 2, 128, SEQ)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void learnsToReverse(ModelConfig config) {
        try (Transformer model = new Transformer(config, EngineOptions.fp32(2))) {
            model.initialize(1);
            AdamW optimizer = new AdamW(model.parameters(), model.kernels(),
                    new AdamWConfig(0.9, 0.98, 1e-8, 0.01, 1.0));
            int steps = 700;
            Trainer trainer = new Trainer(model, new MaskedCrossEntropy(), optimizer,
                    new LrSchedule(3e-3, 50, steps, 0.1));
            Random random = new Random(2);
            for (int step = 0; step < steps; step++) {
                trainer.step(List.of(batch(random, 32)));
            }
            double accuracy = accuracy(model, batch(new Random(99), 200));
            assertTrue(accuracy >= 0.99, config.family() + " reversal accuracy " + accuracy);
        }
    }

    private static TokenBatch batch(Random random, int size) {
        int[] tokens = new int[size * SEQ];
        int[] targets = new int[size * SEQ];
        float[] mask = new float[size * SEQ];
        for (int b = 0; b < size; b++) {
            int[] row = new int[SEQ];
            for (int i = 0; i < LENGTH; i++) {
                row[i] = random.nextInt(DIGITS);
                row[SEQ - 1 - i] = row[i];
            }
            row[LENGTH] = SEP;
            for (int t = 0; t < SEQ; t++) {
                tokens[b * SEQ + t] = row[t];
                targets[b * SEQ + t] = t + 1 < SEQ ? row[t + 1] : -1;
                mask[b * SEQ + t] = t >= LENGTH && t + 1 < SEQ ? 1f : 0f; // predict the reversed half
            }
        }
        return new TokenBatch(tokens, targets, mask, size, SEQ);
    }

    /** Fraction of masked positions whose argmax prediction is the target. */
    private static double accuracy(Transformer model, TokenBatch batch) {
        ForwardPass pass = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
        INDArray predictions = pass.logits().argMax(1);
        int correct = 0;
        int total = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (batch.lossMask()[i] > 0) {
                total++;
                if (predictions.getInt(i) == batch.targets()[i]) {
                    correct++;
                }
            }
        }
        return (double) correct / total;
    }
}
