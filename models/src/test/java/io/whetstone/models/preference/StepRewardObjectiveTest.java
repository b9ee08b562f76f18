package io.whetstone.models.preference;

import static io.whetstone.models.GradientCheck.maxRelativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The process reward model's step loss: scores are the score token's logits at the steps' last tokens (checked
 * against hidden state times head row in plain double), the binary cross-entropy against a plain reference with
 * hard and soft labels and several steps per row, and the gradient through a transformer against finite
 * differences.
 */
class StepRewardObjectiveTest {

    @Test
    void lossScoresAndGradientsMatchAPlainReferenceAndFiniteDifferences() {
        ModelConfig config = TinyModels.llama();
        try (Transformer model = new Transformer(config, new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE,
                1))) {
            model.initialize(5);
            model.parameters().params().muli(3);
            TokenBatch batch = TinyModels.batch(config, 2, 6, 17);
            StepRewardObjective.StepLabels labels = new StepRewardObjective.StepLabels(new int[] {0, 0, 1, 1, 1},
                    new int[] {1, 4, 0, 3, 5}, new double[] {1, 0.25, 0, 1, 0.5});
            int scoreToken = 2;
            StepRewardObjective objective = new StepRewardObjective(scoreToken, b -> labels);
            assertEquals(5.0, objective.defaultNormalizer(batch));

            ForwardPass pass = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
            double[] scores = objective.scores(pass, batch, labels);
            INDArray hidden = model.finalHidden().dup();
            INDArray head = model.parameters().tensor("lm_head").getRow(scoreToken).dup();
            double expected = 0;
            for (int i = 0; i < scores.length; i++) {
                double z = 0;
                for (int c = 0; c < config.width(); c++) {
                    z += hidden.getDouble((long) labels.rows()[i] * batch.seqLen() + labels.positions()[i], c)
                            * head.getDouble(c);
                }
                assertEquals(z, scores[i], 1e-10, "score of step " + i);
                double p = 1 / (1 + Math.exp(-z));
                double y = labels.labels()[i];
                expected += -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
            }
            ObjectiveResult result = objective.evaluate(pass, batch, 5);
            assertEquals(expected / 5, result.loss(), 1e-12);
            assertEquals(5.0, result.metrics().get("steps"));

            DoubleSupplier value = () -> {
                model.parameters().zeroGrads();
                ForwardPass again = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
                ObjectiveResult evaluated = objective.evaluate(again, batch, 5);
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
}
