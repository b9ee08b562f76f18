package io.whetstone.models.preference;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A pairwise loss over a batch of pairs, in sequence log-probabilities: the summed loss, its gradient with
 * respect to each completion's summed log-prob under the policy, and the numbers a run reports (sums, so
 * they add up across micro-batches and partitions; divide by {@code pairs}).
 */
public final class PairwiseLoss {

    private final PreferenceSettings settings;

    public PairwiseLoss(PreferenceSettings settings) {
        this.settings = settings;
    }

    public PreferenceSettings settings() {
        return settings;
    }

    /**
     * The pairs' sequence log-probs: {@code [pairs]} arrays of summed log-probs of the chosen and rejected
     * completions under the policy and the reference (the reference's null for reference-free losses), and
     * the completions' token counts (the loss mask's sums).
     */
    public record Pairs(double[] chosen, double[] rejected, double[] refChosen, double[] refRejected,
                        double[] chosenTokens, double[] rejectedTokens) {

        public Pairs {
            int n = chosen.length;
            if (rejected.length != n || chosenTokens.length != n || rejectedTokens.length != n
                    || (refChosen == null) != (refRejected == null)
                    || (refChosen != null && (refChosen.length != n || refRejected.length != n))) {
                throw new IllegalArgumentException("every per-pair array needs " + n + " entries");
            }
            for (int i = 0; i < n; i++) {
                if (!(chosenTokens[i] > 0) || !(rejectedTokens[i] > 0)) {
                    throw new IllegalArgumentException("pair " + i + " has a completion with no counted tokens ("
                            + chosenTokens[i] + " chosen, " + rejectedTokens[i] + " rejected)");
                }
            }
        }

        public int size() {
            return chosen.length;
        }
    }

    /**
     * @param lossSum the sum of the pairs' losses
     * @param dChosen [pairs] d lossSum / d summed log-prob of the chosen completion
     * @param dRejected [pairs] d lossSum / d summed log-prob of the rejected completion
     * @param metrics named sums over the pairs
     */
    public record Result(double lossSum, double[] dChosen, double[] dRejected, Map<String, Double> metrics) {
    }

    public Result evaluate(Pairs pairs) {
        PreferenceLoss loss = settings.loss();
        if (loss.usesReference() && pairs.refChosen() == null) {
            throw new IllegalArgumentException(loss.id() + " needs the reference model's log-probs");
        }
        int n = pairs.size();
        double[] dChosen = new double[n];
        double[] dRejected = new double[n];
        double lossSum = 0;
        double chosenRewards = 0;
        double rejectedRewards = 0;
        double correct = 0;
        double chosenDrift = 0;
        double rejectedDrift = 0;
        double nll = 0;
        for (int i = 0; i < n; i++) {
            double chosenScale = loss.lengthNormalized() ? 1 / pairs.chosenTokens()[i] : 1;
            double rejectedScale = loss.lengthNormalized() ? 1 / pairs.rejectedTokens()[i] : 1;
            double refChosen = pairs.refChosen() == null ? 0 : pairs.refChosen()[i] * chosenScale;
            double refRejected = pairs.refRejected() == null ? 0 : pairs.refRejected()[i] * rejectedScale;
            PreferenceLoss.Term term = loss.term(settings, pairs.chosen()[i] * chosenScale,
                    pairs.rejected()[i] * rejectedScale, refChosen, refRejected);
            // the extra SFT term: the chosen completion's per-token mean negative log-likelihood
            double chosenNll = -pairs.chosen()[i] / pairs.chosenTokens()[i];
            lossSum += term.loss() + settings.sftWeight() * chosenNll;
            dChosen[i] = term.dChosen() * chosenScale - settings.sftWeight() / pairs.chosenTokens()[i];
            dRejected[i] = term.dRejected() * rejectedScale;
            chosenRewards += term.chosenReward();
            rejectedRewards += term.rejectedReward();
            correct += term.chosenReward() > term.rejectedReward() ? 1 : 0;
            nll += chosenNll;
            if (pairs.refChosen() != null) {
                chosenDrift += (pairs.chosen()[i] - pairs.refChosen()[i]) / pairs.chosenTokens()[i];
                rejectedDrift += (pairs.rejected()[i] - pairs.refRejected()[i]) / pairs.rejectedTokens()[i];
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("pairs", (double) n);
        metrics.put("pair_loss_sum", lossSum);
        metrics.put("reward_chosen_sum", chosenRewards);
        metrics.put("reward_rejected_sum", rejectedRewards);
        metrics.put("reward_margin_sum", chosenRewards - rejectedRewards);
        metrics.put("preference_correct", correct);
        metrics.put("chosen_nll_sum", nll);
        if (pairs.refChosen() != null) {
            // per-token log-prob change since the reference; both falling is DPO's likelihood displacement
            metrics.put("chosen_logp_drift_sum", chosenDrift);
            metrics.put("rejected_logp_drift_sum", rejectedDrift);
        }
        return new Result(lossSum, dChosen, dRejected, metrics);
    }
}
