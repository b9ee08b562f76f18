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
 * A reward model's Bradley-Terry loss on pairs of rows (2i chosen, 2i + 1 rejected), as TRL's RewardTrainer:
 * -log sigmoid(r_c - r_r - m) with m a pair's margin (0 without one), summed over pairs / normaliser (by
 * default the pairs). A row's reward is a linear head on the final normed hidden state after its last token,
 * r = w . h, at the last position the loss mask selects (the position that predicts the end token, whose input
 * is the completion's last token). The head w is the language-model head's row of {@code scoreToken}: the
 * reward is that token's logit there, so the head trains with the model and needs no parameters of its own;
 * exported, the row becomes {@code score.weight} of a sequence-classification model.
 */
public final class RewardObjective implements Objective {

    private final int scoreToken;
    private final MarginSource margins;

    /** Per-pair margins of a batch (0 where a pair has none). */
    @FunctionalInterface
    public interface MarginSource {
        double[] margins(TokenBatch batch);
    }

    public RewardObjective(int scoreToken, MarginSource margins) {
        if (scoreToken < 0) {
            throw new IllegalArgumentException("the score token must be a vocabulary id, got " + scoreToken);
        }
        this.scoreToken = scoreToken;
        this.margins = margins;
    }

    /** The last position of each row the loss mask selects: [B]. */
    public static int[] lastPositions(TokenBatch batch) {
        int[] last = new int[batch.batch()];
        for (int b = 0; b < batch.batch(); b++) {
            last[b] = -1;
            for (int t = 0; t < batch.seqLen(); t++) {
                if (batch.lossMask()[b * batch.seqLen() + t] != 0) {
                    last[b] = t;
                }
            }
            if (last[b] < 0) {
                throw new IllegalArgumentException("row " + b + " has no scored position (an empty mask)");
            }
        }
        return last;
    }

    /** Each row's reward under {@code pass}: the score token's logit at the row's last scored position. [B] */
    public double[] rewards(ForwardPass pass, TokenBatch batch) {
        int[] last = lastPositions(batch);
        INDArray logits = pass.logits(); // [N, V]
        double[] rewards = new double[batch.batch()];
        for (int b = 0; b < rewards.length; b++) {
            rewards[b] = logits.getDouble((long) b * batch.seqLen() + last[b], scoreToken);
        }
        return rewards;
    }

    @Override
    public ObjectiveResult evaluate(ForwardPass pass, TokenBatch batch, double normalizer) {
        if (!(normalizer > 0)) {
            throw new IllegalArgumentException("a reward model needs a positive normaliser (no pairs?): " + normalizer);
        }
        int pairs = pairs(batch);
        double[] rewards = rewards(pass, batch); // [B]
        double[] margin = margins == null ? new double[pairs] : margins.margins(batch);
        int[] last = lastPositions(batch);
        int n = batch.batch() * batch.seqLen();
        int vocab = (int) pass.logits().columns();
        INDArray dLogits = Nd4j.zeros(pass.logits().dataType(), n, vocab); // [N, V], nonzero at (last, token)
        double lossSum = 0;
        double correct = 0;
        double chosenSum = 0;
        double rejectedSum = 0;
        for (int i = 0; i < pairs; i++) {
            double z = rewards[2 * i] - rewards[2 * i + 1] - margin[i];
            lossSum += -Logistic.logSigmoid(z);
            double dz = Logistic.sigmoid(z) - 1; // d(-log sigmoid z)/dz
            dLogits.putScalar((long) (2 * i) * batch.seqLen() + last[2 * i], scoreToken, dz / normalizer);
            dLogits.putScalar((long) (2 * i + 1) * batch.seqLen() + last[2 * i + 1], scoreToken, -dz / normalizer);
            correct += rewards[2 * i] > rewards[2 * i + 1] ? 1 : 0;
            chosenSum += rewards[2 * i];
            rejectedSum += rewards[2 * i + 1];
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("pairs", (double) pairs);
        metrics.put("pair_loss_sum", lossSum);
        metrics.put("preference_correct", correct);
        metrics.put("reward_chosen_sum", chosenSum);
        metrics.put("reward_rejected_sum", rejectedSum);
        metrics.put("reward_margin_sum", chosenSum - rejectedSum);
        INDArray dLogProbs = Nd4j.zeros(pass.logProbs().dataType(), batch.batch(), batch.seqLen());
        return new ObjectiveResult(lossSum / normalizer, dLogProbs, dLogits, metrics);
    }

    @Override
    public double defaultNormalizer(TokenBatch batch) {
        return pairs(batch);
    }

    private static int pairs(TokenBatch batch) {
        if (batch.batch() % 2 != 0) {
            throw new IllegalArgumentException("a reward model's batch holds pairs of rows (chosen, rejected); got "
                    + batch.batch() + " rows");
        }
        return batch.batch() / 2;
    }
}
