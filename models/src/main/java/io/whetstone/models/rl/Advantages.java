package io.whetstone.models.rl;

/**
 * Advantage estimators. Group ones work on the G rewards of one prompt's samples; GAE on one sequence's
 * per-token rewards and values.
 */
public final class Advantages {

    private Advantages() {
    }

    /**
     * GRPO: (r - mean) / (std + eps) over the group, or r - mean without the std scaling (Dr. GRPO). The std
     * has Bessel's correction, as torch.std's default that TRL and veRL use; a group needs 2 samples.
     */
    public static double[] grpo(double[] rewards, boolean scaleByStd, double eps) {
        if (rewards.length < 2) {
            throw new IllegalArgumentException("group advantages need at least 2 samples per prompt, got "
                    + rewards.length);
        }
        double mean = mean(rewards);
        double variance = 0;
        for (double r : rewards) {
            variance += (r - mean) * (r - mean);
        }
        double std = Math.sqrt(variance / (rewards.length - 1));
        double[] advantages = new double[rewards.length];
        for (int i = 0; i < rewards.length; i++) {
            advantages[i] = scaleByStd ? (rewards[i] - mean) / (std + eps) : rewards[i] - mean;
        }
        return advantages;
    }

    /** RLOO: each sample's reward minus the mean reward of the group's other samples. */
    public static double[] rloo(double[] rewards) {
        int g = rewards.length;
        if (g < 2) {
            throw new IllegalArgumentException("RLOO needs at least 2 samples per prompt, got " + g);
        }
        double sum = 0;
        for (double r : rewards) {
            sum += r;
        }
        double[] advantages = new double[g];
        for (int i = 0; i < g; i++) {
            advantages[i] = rewards[i] - (sum - rewards[i]) / (g - 1);
        }
        return advantages;
    }

    /** Whether all rewards of a group are equal (no learning signal: dynamic sampling drops the group). */
    public static boolean zeroVariance(double[] rewards) {
        for (double r : rewards) {
            if (r != rewards[0]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Generalised advantage estimation over one sequence: delta_t = r_t + gamma V_{t+1} - V_t (V after the
     * last token is 0), A_t = delta_t + gamma lambda A_{t+1}. Returns {advantages, returns = A + V}.
     */
    public static double[][] gae(double[] rewards, double[] values, double gamma, double lambda) {
        int n = rewards.length;
        if (values.length != n) {
            throw new IllegalArgumentException("GAE needs one value per reward");
        }
        double[] advantages = new double[n];
        double[] returns = new double[n];
        double next = 0;
        double running = 0;
        for (int t = n - 1; t >= 0; t--) {
            double delta = rewards[t] + gamma * next - values[t];
            running = delta + gamma * lambda * running;
            advantages[t] = running;
            returns[t] = running + values[t];
            next = values[t];
        }
        return new double[][] {advantages, returns};
    }

    /**
     * PPO's per-token rewards of one sequence: -klCoef * (old - ref) on every token (the k1 estimate of
     * the KL to the reference, folded into the reward) plus the sequence's score on its last token.
     */
    public static double[] klShapedRewards(double score, float[] oldLogProbs, float[] refLogProbs, double klCoef) {
        int n = oldLogProbs.length;
        if (n == 0 || refLogProbs.length != n) {
            throw new IllegalArgumentException("need one reference log-prob per token of a non-empty sequence");
        }
        double[] rewards = new double[n];
        for (int t = 0; t < n; t++) {
            rewards[t] = -klCoef * ((double) oldLogProbs[t] - refLogProbs[t]);
        }
        rewards[n - 1] += score;
        return rewards;
    }

    /**
     * (x - mean) / sqrt(var + 1e-8) over the values selected by {@code mask}, in place (others untouched),
     * with the unbiased variance: TRL's masked_whiten.
     */
    public static void whiten(double[] values, float[] mask) {
        double sum = 0;
        double count = 0;
        for (int i = 0; i < values.length; i++) {
            sum += mask[i] * values[i];
            count += mask[i];
        }
        if (count < 2) {
            return;
        }
        double mean = sum / count;
        double variance = 0;
        for (int i = 0; i < values.length; i++) {
            variance += mask[i] * (values[i] - mean) * (values[i] - mean);
        }
        variance = variance / count * (count / (count - 1));
        double scale = 1 / Math.sqrt(variance + 1e-8);
        for (int i = 0; i < values.length; i++) {
            if (mask[i] > 0) {
                values[i] = (values[i] - mean) * scale;
            }
        }
    }

    private static double mean(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum / values.length;
    }
}
