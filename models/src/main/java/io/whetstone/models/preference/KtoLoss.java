package io.whetstone.models.preference;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * KTO on unpaired examples, as TRL defines it: with r = beta (pi - ref) a completion's implicit reward
 * over summed log-probs and z0 the reference point, a desirable example costs
 * lambda_D (1 - sigmoid(r - beta z0)) and an undesirable one lambda_U (1 - sigmoid(beta z0 - r)). The
 * reference point is an estimate of KL(policy || reference), clamped at 0 and not differentiated
 * through: here the mean of (pi - ref) over the batch's own examples (TRL pairs each prompt with another
 * example's completion for it; see {@link #referencePoint}).
 */
public final class KtoLoss {

    private final KtoSettings settings;

    public KtoLoss(KtoSettings settings) {
        this.settings = settings;
    }

    /**
     * @param lossSum the sum of the examples' weighted losses
     * @param dPolicy [n] d lossSum / d summed log-prob under the policy
     * @param metrics named sums over the examples
     */
    public record Result(double lossSum, double[] dPolicy, Map<String, Double> metrics) {
    }

    /** max(0, mean(policy - reference)): the batch's KL estimate, a constant for the gradient. */
    public static double referencePoint(double[] policy, double[] reference) {
        double sum = 0;
        for (int i = 0; i < policy.length; i++) {
            sum += policy[i] - reference[i];
        }
        return Math.max(0, sum / policy.length);
    }

    /**
     * @param policy [n] summed log-probs of each completion under the policy
     * @param reference [n] the same under the reference
     * @param desirable [n] each example's label
     * @param referencePoint z0
     */
    public Result evaluate(double[] policy, double[] reference, boolean[] desirable, double referencePoint) {
        int n = policy.length;
        if (reference.length != n || desirable.length != n) {
            throw new IllegalArgumentException("KTO needs " + n + " reference log-probs and labels, got "
                    + reference.length + " and " + desirable.length);
        }
        double beta = settings.beta();
        double[] dPolicy = new double[n];
        double lossSum = 0;
        double desirableCount = 0;
        double desirableRewards = 0;
        double undesirableRewards = 0;
        for (int i = 0; i < n; i++) {
            double reward = beta * (policy[i] - reference[i]);
            if (desirable[i]) {
                double s = Logistic.sigmoid(reward - beta * referencePoint);
                lossSum += settings.desirableWeight() * (1 - s);
                dPolicy[i] = -settings.desirableWeight() * s * (1 - s) * beta;
                desirableCount++;
                desirableRewards += reward;
            } else {
                double s = Logistic.sigmoid(beta * referencePoint - reward);
                lossSum += settings.undesirableWeight() * (1 - s);
                dPolicy[i] = settings.undesirableWeight() * s * (1 - s) * beta;
                undesirableRewards += reward;
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("examples", (double) n);
        metrics.put("desirable", desirableCount);
        metrics.put("kto_loss_sum", lossSum);
        metrics.put("reward_desirable_sum", desirableRewards);
        metrics.put("reward_undesirable_sum", undesirableRewards);
        metrics.put("kl_estimate_sum", referencePoint * n);
        return new Result(lossSum, dPolicy, metrics);
    }
}
