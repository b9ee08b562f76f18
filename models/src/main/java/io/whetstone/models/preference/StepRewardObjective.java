package io.whetstone.models.preference;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.objectives.ObjectiveResult;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A process reward model's loss: at the last token of every labelled reasoning step, the step's score is the
 * logit of {@code scoreToken} there (the language-model head's row of that token is the score head, as in
 * {@link RewardObjective}), and the loss is the binary cross-entropy of sigmoid(score) against the step's label
 * in [0, 1] (Math-Shepherd's hard 0/1 or soft share), summed over steps / normaliser (by default the steps).
 */
public final class StepRewardObjective implements Objective {

    /** The labelled steps of a batch: row, position (whose input is the step's last token) and label. */
    public record StepLabels(int[] rows, int[] positions, double[] labels) {
        public StepLabels {
            if (rows.length != positions.length || rows.length != labels.length) {
                throw new IllegalArgumentException("rows, positions and labels differ in length");
            }
        }
    }

    /** The step labels of a batch. */
    @FunctionalInterface
    public interface Source {
        StepLabels labels(TokenBatch batch);
    }

    private final int scoreToken;
    private final Source source;

    public StepRewardObjective(int scoreToken, Source source) {
        if (scoreToken < 0) {
            throw new IllegalArgumentException("the score token must be a vocabulary id, got " + scoreToken);
        }
        this.scoreToken = scoreToken;
        this.source = source;
    }

    /** Each labelled step's score under {@code pass}: [steps]. */
    public double[] scores(ForwardPass pass, TokenBatch batch, StepLabels labels) {
        double[] scores = new double[labels.rows().length];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = pass.logits().getDouble((long) labels.rows()[i] * batch.seqLen() + labels.positions()[i],
                    scoreToken);
        }
        return scores;
    }

    @Override
    public ObjectiveResult evaluate(ForwardPass pass, TokenBatch batch, double normalizer) {
        if (!(normalizer > 0)) {
            throw new IllegalArgumentException("a process reward model needs a positive normaliser (no steps?): "
                    + normalizer);
        }
        StepLabels labels = source.labels(batch);
        double[] scores = scores(pass, batch, labels);
        int n = batch.batch() * batch.seqLen();
        INDArray dLogits = Nd4j.zeros(pass.logits().dataType(), n, pass.logits().columns()); // [N, V]
        double lossSum = 0;
        double correct = 0;
        for (int i = 0; i < scores.length; i++) {
            double y = labels.labels()[i];
            double z = scores[i];
            // BCE with logits: -y log s(z) - (1 - y) log s(-z)
            lossSum += -y * Logistic.logSigmoid(z) - (1 - y) * Logistic.logSigmoid(-z);
            double dz = Logistic.sigmoid(z) - y;
            long at = (long) labels.rows()[i] * batch.seqLen() + labels.positions()[i];
            dLogits.putScalar(at, scoreToken, dLogits.getDouble(at, scoreToken) + dz / normalizer);
            correct += (z > 0) == (y > 0.5) ? 1 : 0;
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("steps", (double) scores.length);
        metrics.put("step_loss_sum", lossSum);
        metrics.put("step_correct", correct);
        INDArray dLogProbs = Nd4j.zeros(pass.logProbs().dataType(), batch.batch(), batch.seqLen());
        return new ObjectiveResult(lossSum / normalizer, dLogProbs, dLogits, metrics);
    }

    /** The batch's labelled steps. */
    @Override
    public double defaultNormalizer(TokenBatch batch) {
        return source.labels(batch).rows().length;
    }
}
