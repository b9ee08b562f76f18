package io.whetstone.jobs.rl;

import io.whetstone.jobs.config.RlConfig;
import io.whetstone.models.rl.Advantages;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns an iteration's rollouts (sorted by prompt and sample) into update rows on the driver: leaves out
 * completions whose reward failed, computes advantages (GRPO's group statistics or RLOO per prompt;
 * PPO's KL-shaped token rewards, GAE and whitening over the batch), drops groups whose rewards all agree
 * when dynamic sampling is on, leaves out the surplus groups of a refilled batch (DAPO keeps exactly
 * prompts_per_iteration groups), leaves truncated completions out of the loss when asked (DAPO's overlong
 * filtering), and counts everything it leaves out.
 */
final class BatchBuilder {

    private BatchBuilder() {
    }

    /** The rows and, per rollout (in input order), its advantage (a sequence's mean for PPO) and use. */
    record Built(List<UpdateRow> rows, double[] advantages, boolean[] used, int groups, int zeroVarianceGroups,
                 int droppedGroups, int surplusGroups, int failedSamples, int maskedTruncated) {
    }

    static Built build(List<Rollout> rollouts, RlConfig.Algorithm algorithm, double klCoef) {
        return build(rollouts, algorithm, klCoef, Set.of());
    }

    /**
     * The prompts whose groups would carry a learning signal (GRPO: two or more scored samples whose rewards,
     * under dynamic sampling, do not all agree, and with mask_truncated_completions one of them not truncated),
     * in the order the groups first appear.
     */
    static List<Long> signalGroups(List<Rollout> rollouts, RlConfig.Algorithm algorithm) {
        List<Long> out = new ArrayList<>();
        for (Map.Entry<Long, List<Integer>> group : groups(rollouts).entrySet()) {
            List<Integer> ok = scored(rollouts, group.getValue());
            boolean trains = !algorithm.maskTruncatedCompletions()
                    || ok.stream().anyMatch(i -> !rollouts.get(i).truncated());
            if (ok.size() >= 2 && !(algorithm.dynamicSampling() && flat(rollouts, ok)) && trains) {
                out.add(group.getKey());
            }
        }
        return out;
    }

    /** As {@link #build(List, RlConfig.Algorithm, double)}, leaving out the groups of the {@code surplus} prompts. */
    static Built build(List<Rollout> rollouts, RlConfig.Algorithm algorithm, double klCoef, Set<Long> surplus) {
        Map<Long, List<Integer>> groups = groups(rollouts);
        double[] advantages = new double[rollouts.size()];
        boolean[] used = new boolean[rollouts.size()];
        float[][] tokenAdvantages = new float[rollouts.size()][];
        float[][] returns = new float[rollouts.size()][];
        int zeroVariance = 0;
        int dropped = 0;
        int surplusGroups = 0;
        int failed = 0;
        int masked = 0;
        for (Map.Entry<Long, List<Integer>> group : groups.entrySet()) {
            List<Integer> members = group.getValue();
            List<Integer> ok = scored(rollouts, members);
            failed += members.size() - ok.size();
            double[] rewards = rewards(rollouts, ok);
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
            if (surplus.contains(group.getKey())) {
                surplusGroups++;
                continue;
            }
            double[] groupAdvantages = algorithm.advantage().equals("rloo") ? Advantages.rloo(rewards)
                    : Advantages.grpo(rewards, algorithm.scaleByStd(), algorithm.stdEps());
            for (int k = 0; k < ok.size(); k++) {
                int i = ok.get(k);
                if (algorithm.maskTruncatedCompletions() && rollouts.get(i).truncated()) {
                    masked++; // in the group's statistics above, not in the loss
                    continue;
                }
                advantages[i] = groupAdvantages[k];
                used[i] = true;
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
        return new Built(rows, advantages, used, groups.size(), zeroVariance, dropped, surplusGroups, failed, masked);
    }

    /** Each prompt's rollouts (their positions), in the order the prompts first appear. */
    private static Map<Long, List<Integer>> groups(List<Rollout> rollouts) {
        Map<Long, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < rollouts.size(); i++) {
            groups.computeIfAbsent(rollouts.get(i).promptIndex(), k -> new ArrayList<>()).add(i);
        }
        return groups;
    }

    /** The members whose reward was computed (a failed reward leaves its sample out). */
    private static List<Integer> scored(List<Rollout> rollouts, List<Integer> members) {
        List<Integer> ok = new ArrayList<>();
        for (int i : members) {
            if (!rollouts.get(i).failed()) {
                ok.add(i);
            }
        }
        return ok;
    }

    private static double[] rewards(List<Rollout> rollouts, List<Integer> members) {
        double[] rewards = new double[members.size()];
        for (int k = 0; k < members.size(); k++) {
            rewards[k] = rollouts.get(members.get(k)).reward();
        }
        return rewards;
    }

    private static boolean flat(List<Rollout> rollouts, List<Integer> members) {
        return Advantages.zeroVariance(rewards(rollouts, members));
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
