package io.whetstone.models.preference;

import static io.whetstone.models.GradientCheck.maxRelativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TinyModels;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.objectives.ObjectiveResult;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The reward model's Bradley-Terry loss: the rewards are the score token's logits at each row's last scored
 * position (checked against the final hidden state times the head row, in plain double), the loss against a
 * plain double reference, and its gradient through a transformer (the head row and the trunk) against finite
 * differences, with and without margins.
 */
class RewardObjectiveTest {

    @ParameterizedTest(name = "margins {0}")
    @ValueSource(booleans = {false, true})
    void lossAndGradientsMatchAPlainReferenceAndFiniteDifferences(boolean withMargins) {
        ModelConfig config = TinyModels.llama();
        EngineOptions options = new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE, 1);
        try (Transformer model = new Transformer(config, options)) {
            model.initialize(8);
            model.parameters().params().muli(3);
            TokenBatch batch = PreferenceGradientCheckTest.pairBatch(config, 2, 6, 33);
            double[] margins = withMargins ? new double[] {0.5, -0.25} : null;
            int scoreToken = 3;
            RewardObjective objective = new RewardObjective(scoreToken, margins == null ? null : b -> margins);

            ForwardPass pass = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
            double[] rewards = objective.rewards(pass, batch);
            // plain double: r = h_last . lm_head[scoreToken]
            INDArray hidden = model.finalHidden().dup();
            INDArray head = model.parameters().tensor("lm_head").getRow(scoreToken).dup();
            int[] last = RewardObjective.lastPositions(batch);
            double expectedLoss = 0;
            for (int b = 0; b < batch.batch(); b++) {
                double r = 0;
                for (int c = 0; c < config.width(); c++) {
                    r += hidden.getDouble((long) b * batch.seqLen() + last[b], c) * head.getDouble(c);
                }
                assertEquals(r, rewards[b], 1e-10, "reward of row " + b);
            }
            for (int i = 0; i < 2; i++) {
                double z = rewards[2 * i] - rewards[2 * i + 1] - (margins == null ? 0 : margins[i]);
                expectedLoss += Math.log1p(Math.exp(-z)) / 2;
            }
            ObjectiveResult result = objective.evaluate(pass, batch, 2);
            assertEquals(expectedLoss, result.loss(), 1e-12);
            assertEquals(2.0, result.metrics().get("pairs"));

            DoubleSupplier value = () -> {
                model.parameters().zeroGrads();
                ForwardPass again = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
                ObjectiveResult evaluated = objective.evaluate(again, batch, 2);
                model.backward(evaluated.dLogProbs(), evaluated.dLogits());
                return evaluated.loss();
            };
            value.getAsDouble();
            INDArray grads = model.parameters().grads().dup();
            for (var spec : model.parameters().layout().tensors()) {
                long offset = model.parameters().layout().offset(spec.name());
                INDArray param = model.parameters().params().get(NDArrayIndex.interval(offset, offset + spec.length()));
                INDArray grad = grads.get(NDArrayIndex.interval(offset, offset + spec.length()));
                double error = maxRelativeError(param, grad, value, 12);
                assertTrue(error < 1e-5, spec.name() + ": relative error " + error);
            }
        }
    }

    @Test
    void onlyTheScoreTokensRowOfTheHeadMovesAndBadBatchesAreRefused() {
        ModelConfig config = TinyModels.llama();
        try (Transformer model = new Transformer(config, new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE, 1))) {
            model.initialize(2);
            TokenBatch batch = PreferenceGradientCheckTest.pairBatch(config, 2, 6, 4);
            RewardObjective objective = new RewardObjective(5, null);
            model.parameters().zeroGrads();
            ForwardPass pass = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
            ObjectiveResult result = objective.evaluate(pass, batch, 2);
            model.backward(result.dLogProbs(), result.dLogits());
            INDArray headGrad = model.parameters().gradient("lm_head");
            for (int v = 0; v < config.vocabSize(); v++) {
                double norm = headGrad.getRow(v).norm2Number().doubleValue();
                assertTrue(v == 5 ? norm > 0 : norm == 0, "row " + v + " gradient norm " + norm);
            }
            assertThrows(IllegalArgumentException.class, () -> new RewardObjective(-1, null));
            TokenBatch odd = TinyModels.batch(config, 3, 4, 1);
            assertThrows(IllegalArgumentException.class, () -> objective.defaultNormalizer(odd));
        }
    }
}
