package io.whetstone.jobs.preference;

import io.whetstone.jobs.engine.RoundLoop;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A round's preference numbers, as TRL logs them, from the objective's sums: per pair the implicit rewards
 * of the chosen and rejected completions, their margin, the share of pairs whose chosen reward is higher
 * (preference accuracy) and the per-token log-prob drift of each completion since the reference (both
 * falling is DPO's likelihood displacement); for KTO the rewards of desirable and undesirable completions
 * and the KL estimate used as the reference point.
 */
final class PreferenceMetrics {

    private PreferenceMetrics() {
    }

    static RoundLoop.Extras of(Map<String, Double> sums) {
        Map<String, Object> fields = new LinkedHashMap<>();
        double pairs = sums.getOrDefault("pairs", 0.0);
        if (pairs > 0) {
            fields.put("preference_accuracy", sums.get("preference_correct") / pairs);
            fields.put("reward_margin", sums.get("reward_margin_sum") / pairs);
            fields.put("reward_chosen", sums.get("reward_chosen_sum") / pairs);
            fields.put("reward_rejected", sums.get("reward_rejected_sum") / pairs);
            if (sums.containsKey("chosen_nll_sum")) {
                fields.put("chosen_nll", sums.get("chosen_nll_sum") / pairs);
            }
            if (sums.containsKey("chosen_logp_drift_sum")) {
                fields.put("chosen_logp_drift", sums.get("chosen_logp_drift_sum") / pairs);
                fields.put("rejected_logp_drift", sums.get("rejected_logp_drift_sum") / pairs);
            }
            return new RoundLoop.Extras(fields, String.format("  acc %.3f  margin %.4f",
                    fields.get("preference_accuracy"), fields.get("reward_margin")));
        }
        double examples = sums.getOrDefault("examples", 0.0);
        if (examples > 0) {
            double desirable = sums.get("desirable");
            fields.put("kl_estimate", sums.get("kl_estimate_sum") / examples);
            fields.put("desirable_share", desirable / examples);
            fields.put("reward_desirable", desirable == 0 ? Double.NaN : sums.get("reward_desirable_sum") / desirable);
            fields.put("reward_undesirable", desirable == examples ? Double.NaN
                    : sums.get("reward_undesirable_sum") / (examples - desirable));
            return new RoundLoop.Extras(fields, String.format("  kl %.4f", fields.get("kl_estimate")));
        }
        return RoundLoop.Extras.NONE;
    }
}
