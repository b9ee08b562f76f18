package io.whetstone.jobs.rl;

import io.whetstone.jobs.config.RlConfig;
import io.whetstone.models.rl.Advantages;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns an iteration's rollouts (sorted by prompt and sample) into update rows on the driver: leaves out
 * completions whose reward failed, computes advantages (GRPO's group statistics or RLOO per prompt;
 * PPO's KL-shaped token rewards, GAE and whitening over the batch), drops groups whose rewards all agree
 * when dynamic sampling is on, and counts everything it leaves out.
 */
final class BatchBuilder {

    private BatchBuilder() {
    }

    /** The rows and, per rollout (in input order), its advantage (a sequence's mean for PPO) and use. */
    record Built(List<UpdateRow> rows, double[] advantages, boolean[] used, int groups, int zeroVarianceGroups,
                 int droppedGroups, int failedSamples) {
    }

    static Built build(List<Rollout> rollouts, RlConfig.Algorithm algorithm, double klCoef) {
        Map<Long, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < rollouts.size(); i++) {
            groups.computeIfAbsent(rollouts.get(i).promptIndex(), k -> new ArrayList<>()).add(i);
        }
        double[] advantages = new double[rollouts.size()];
        boolean[] used = new boolean[rollouts.size()];
        float[][] tokenAdvantages = new float[rollouts.size()][];
        float[][] returns = new float[rollouts.size()][];
        int zeroVariance = 0;
        int dropped = 0;
        int failed = 0;
        for (List<Integer> members : groups.values()) {
            List<Integer> ok = new ArrayList<>();
            for (int i : members) {
                if (rollouts.get(i).failed()) {
                    failed++;
                } else {
                    ok.add(i);
                }
            }
            double[] rewards = new double[ok.size()];
            for (int k = 0; k < ok.size(); k++) {
                rewards[k] = rollouts.get(ok.get(k)).reward();
            }
            boolean flat = ok.size() >= 2 && Advantages.zeroVariance(rewards);
            if (flat) {
                zeroVariance++;
            }
            if (algorithm.ppo()) {
                if (ok.isEmpty()) {
                    dropped++;
                }
                for (int i : ok) {
                    used[i] = true;
                }
                continue;
            }
            if (ok.size() < 2 || (flat && algorithm.dynamicSampling())) {
                dropped++;
                continue;
            }
            double[] groupAdvantages = algorithm.advantage().equals("rloo") ? Advantages.rloo(rewards)
                    : Advantages.grpo(rewards, algorithm.scaleByStd(), algorithm.stdEps());
            for (int k = 0; k < ok.size(); k++) {
                int i = ok.get(k);
                used[i] = true;
                advantages[i] = groupAdvantages[k];
                tokenAdvantages[i] = new float[rollouts.get(i).completionIds().length];
                java.util.Arrays.fill(tokenAdvantages[i], (float) groupAdvantages[k]);
            }
        }
        if (algorithm.ppo()) {
            ppoAdvantages(rollouts, used, algorithm, klCoef, advantages, tokenAdvantages, returns);
        }
        List<UpdateRow> rows = new ArrayList<>();
        for (int i = 0; i < rollouts.size(); i++) {
            if (!used[i]) {
                continue;
            }
            Rollout r = rollouts.get(i);
            rows.add(new UpdateRow(r.promptIds(), r.completionIds(), r.oldLogProbs(),
                    algorithm.ppo() ? new float[0] : r.refLogProbs(), tokenAdvantages[i],
                    algorithm.ppo() ? r.values() : new float[0], algorithm.ppo() ? returns[i] : new float[0],
                    new int[0], null, r.promptIndex()));
        }
        return new Built(rows, advantages, used, groups.size(), zeroVariance, dropped, failed);
    }

    /** KL-shaped token rewards, GAE per sequence, then whitening over all used tokens. */
    private static void ppoAdvantages(List<Rollout> rollouts, boolean[] used, RlConfig.Algorithm algorithm,
                                      double klCoef, double[] advantages, float[][] tokenAdvantages, float[][] returns) {
        List<double[]> perSequence = new ArrayList<>();
        List<Integer> index = new ArrayList<>();
        for (int i = 0; i < rollouts.size(); i++) {
            if (!used[i]) {
                continue;
            }
            Rollout r = rollouts.get(i);
            float[] ref = r.refLogProbs().length == r.oldLogProbs().length ? r.refLogProbs() : r.oldLogProbs();
            double[] tokenRewards = Advantages.klShapedRewards(r.reward(), r.oldLogProbs(), ref, klCoef);
            double[] values = new double[r.values().length];
            for (int t = 0; t < values.length; t++) {
                values[t] = r.values()[t];
            }
            double[][] gae = Advantages.gae(tokenRewards, values, algorithm.gamma(), algorithm.lambda());
            perSequence.add(gae[0]);
            returns[i] = toFloats(gae[1]);
            index.add(i);
        }
        int total = perSequence.stream().mapToInt(a -> a.length).sum();
        double[] flat = new double[total];
        float[] mask = new float[total];
        int at = 0;
        for (double[] a : perSequence) {
            System.arraycopy(a, 0, flat, at, a.length);
            at += a.length;
        }
        java.util.Arrays.fill(mask, 1f);
        if (algorithm.whitenAdvantages()) {
            Advantages.whiten(flat, mask);
        }
        at = 0;
        for (int k = 0; k < index.size(); k++) {
            int i = index.get(k);
            int n = perSequence.get(k).length;
            double[] a = java.util.Arrays.copyOfRange(flat, at, at + n);
            tokenAdvantages[i] = toFloats(a);
            double sum = 0;
            for (double v : a) {
                sum += v;
            }
            advantages[i] = sum / n;
            at += n;
        }
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
