package io.whetstone.models.objectives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TinyModels;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class MaskedCrossEntropyTest {

    @Test
    void lossIsTheMeanNegativeLogProbOverMaskedTokens() {
        TokenBatch batch = TinyModels.batch(TinyModels.gpt2(), 2, 5, 8);
        try (Transformer model = new Transformer(TinyModels.gpt2(), EngineOptions.fp64Reference())) {
            model.initialize(2);
            ForwardPass pass = model.forward(batch.tokens(), batch.targets(), 2, 5);
            ObjectiveResult result = new MaskedCrossEntropy().evaluate(pass, batch, batch.maskedTokens());
            // plain loop: -log softmax(logits)[target], averaged over masked positions
            double sum = 0;
            for (int i = 0; i < batch.size(); i++) {
                if (batch.lossMask()[i] == 0) {
                    continue;
                }
                INDArray row = pass.logits().getRow(i);
                double max = row.maxNumber().doubleValue();
                double z = 0;
                for (int v = 0; v < row.length(); v++) {
                    z += Math.exp(row.getDouble(v) - max);
                }
                sum -= row.getDouble(batch.targets()[i]) - max - Math.log(z);
            }
            assertEquals(sum / batch.maskedTokens(), result.loss(), 1e-12);
            for (int i = 0; i < batch.size(); i++) {
                assertEquals(-batch.lossMask()[i] / batch.maskedTokens(), result.dLogProbs().getDouble(i), 1e-15);
            }
            assertThrows(IllegalArgumentException.class, () -> new MaskedCrossEntropy().evaluate(pass, batch, 0));
        }
    }
}
