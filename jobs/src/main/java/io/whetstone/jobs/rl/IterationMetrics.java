package io.whetstone.jobs.rl;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-iteration diagnostics of rollouts: reward statistics per component, KL to the reference,
 * entropy, response length, truncation, and the mismatch between the sampler's and the trainer's
 * log-probs of the same tokens under the same parameters.
 */
final class IterationMetrics {

    private IterationMetrics() {
    }

    /** Rollout statistics, keyed as they appear in metrics.jsonl. */
    static Map<String, Object> of(List<Rollout> rollouts, List<String> components) {
        Map<String, Object> out = new LinkedHashMap<>();
        int n = rollouts.size();
        double rewardSum = 0;
        double rewardMin = Double.POSITIVE_INFINITY;
        double rewardMax = Double.NEGATIVE_INFINITY;
        int scored = 0;
        double[] sum = new double[components.size()];
        double[] min = new double[components.size()];
        double[] max = new double[components.size()];
        java.util.Arrays.fill(min, Double.POSITIVE_INFINITY);
        java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
        int[] counted = new int[components.size()];
        double tokens = 0;
        double maxLength = 0;
        double entropy = 0;
        double k3 = 0;
        double klTokens = 0;
        double seqKl = 0;
        double mismatch = 0;
        double mismatchMax = 0;
        int truncated = 0;
        for (Rollout r : rollouts) {
            if (!r.failed()) {
                rewardSum += r.reward();
                rewardMin = Math.min(rewardMin, r.reward());
                rewardMax = Math.max(rewardMax, r.reward());
                scored++;
            }
            for (int c = 0; c < sum.length; c++) {
                double v = r.rewards()[c];
                if (!Double.isNaN(v)) {
                    sum[c] += v;
                    min[c] = Math.min(min[c], v);
                    max[c] = Math.max(max[c], v);
                    counted[c]++;
                }
            }
            int length = r.completionIds().length;
            tokens += length;
            maxLength = Math.max(maxLength, length);
            entropy += r.entropySum();
            truncated += r.truncated() ? 1 : 0;
            if (r.refLogProbs().length == length) {
                double s = 0;
                for (int t = 0; t < length; t++) {
                    double delta = (double) r.refLogProbs()[t] - r.oldLogProbs()[t];
                    k3 += Math.exp(delta) - delta - 1;
                    s -= delta;
                }
                klTokens += length;
                seqKl += s;
            }
            for (int t = 0; t < Math.min(length, r.oldLogProbs().length); t++) {
                double d = Math.abs((double) r.samplerLogProbs()[t] - r.oldLogProbs()[t]);
                mismatch += d;
                mismatchMax = Math.max(mismatchMax, d);
            }
        }
        out.put("completions", n);
        out.put("reward_mean", scored == 0 ? Double.NaN : rewardSum / scored);
        out.put("reward_min", scored == 0 ? Double.NaN : rewardMin);
        out.put("reward_max", scored == 0 ? Double.NaN : rewardMax);
        for (int c = 0; c < sum.length; c++) {
            String name = components.get(c);
            out.put("reward_" + name + "_mean", counted[c] == 0 ? Double.NaN : sum[c] / counted[c]);
            out.put("reward_" + name + "_min", counted[c] == 0 ? Double.NaN : min[c]);
            out.put("reward_" + name + "_max", counted[c] == 0 ? Double.NaN : max[c]);
        }
        out.put("kl", klTokens == 0 ? Double.NaN : k3 / klTokens);
        out.put("kl_per_sequence", klTokens == 0 ? Double.NaN : seqKl / n);
        out.put("entropy", tokens == 0 ? Double.NaN : entropy / tokens);
        out.put("response_length", n == 0 ? 0 : tokens / n);
        out.put("response_length_max", maxLength);
        out.put("truncated_fraction", n == 0 ? 0 : (double) truncated / n);
        out.put("logprob_mismatch_mean", tokens == 0 ? 0 : mismatch / tokens);
        out.put("logprob_mismatch_max", mismatchMax);
        out.put("generated_tokens", tokens);
        return out;
    }
}
