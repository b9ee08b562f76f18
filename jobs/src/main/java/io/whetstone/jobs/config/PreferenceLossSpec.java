package io.whetstone.jobs.config;

import io.whetstone.models.preference.KtoSettings;
import io.whetstone.models.preference.PreferenceLoss;
import io.whetstone.models.preference.PreferenceSettings;
import java.util.Set;

/**
 * The preference loss. {@code loss}: {@code sigmoid} (DPO; with {@code label_smoothing} > 0 conservative
 * DPO), {@code dpop} (DPO-Positive, {@code dpop_lambda}), {@code ipo}, {@code simpo} (reference-free, target margin {@code simpo_gamma}), {@code orpo}
 * (reference-free, with the chosen completion's NLL) or {@code kto} (unpaired data; {@code desirable_weight}
 * and {@code undesirable_weight}). {@code beta} is each loss's inverse temperature; {@code sft_weight} adds
 * the chosen completion's per-token NLL to a pairwise loss. {@code bradley_terry} trains a reward model instead
 * (the {@code reward-model} command): -log sigmoid(r_c - r_r - margin) on a scalar score head, the LM head's
 * row of {@code score_token} (-1: the tokenizer's pad token, else its end token).
 */
public record PreferenceLossSpec(String loss, double beta, double labelSmoothing, double simpoGamma,
                                 double sftWeight, double desirableWeight, double undesirableWeight, int scoreToken,
                                 double dpopLambda) {

    public PreferenceLossSpec {
        loss = Checks.oneOf("preference.loss", loss, names());
        Checks.require(scoreToken >= -1, "preference.score_token must be a token id, or -1 for the tokenizer's pad "
                + "token, got " + scoreToken);
        try {
            if (loss.equals("bradley_terry")) {
                Checks.require(labelSmoothing == 0 && simpoGamma == 0 && sftWeight == 0 && dpopLambda == 0,
                        "preference.label_smoothing, simpo_gamma, sft_weight and dpop_lambda do not apply to "
                                + "bradley_terry");
            } else if (loss.equals("kto")) {
                Checks.require(labelSmoothing == 0 && simpoGamma == 0 && sftWeight == 0 && dpopLambda == 0,
                        "preference.label_smoothing, simpo_gamma, sft_weight and dpop_lambda do not apply to kto");
                new KtoSettings(beta, desirableWeight, undesirableWeight);
            } else {
                new PreferenceSettings(PreferenceLoss.parse(loss), beta, labelSmoothing, simpoGamma, sftWeight,
                        dpopLambda);
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** Every pairwise loss's name, and kto. */
    private static Set<String> names() {
        Set<String> names = new java.util.TreeSet<>();
        for (PreferenceLoss pairwise : PreferenceLoss.values()) {
            names.add(pairwise.id());
        }
        names.add("kto");
        names.add("bradley_terry");
        return names;
    }

    public boolean kto() {
        return loss.equals("kto");
    }

    /** The pairwise loss's settings (not for kto). */
    public PreferenceSettings pairwise() {
        return new PreferenceSettings(PreferenceLoss.parse(loss), beta, labelSmoothing, simpoGamma, sftWeight,
                dpopLambda);
    }

    /** KTO's settings. */
    public KtoSettings ktoSettings() {
        return new KtoSettings(beta, desirableWeight, undesirableWeight);
    }

    /** Whether this trains a reward model (Bradley-Terry on a score head) rather than a policy. */
    public boolean rewardModel() {
        return loss.equals("bradley_terry");
    }

    /** Whether the loss reads the frozen reference's log-probs. */
    public boolean usesReference() {
        return kto() || (!rewardModel() && PreferenceLoss.parse(loss).usesReference());
    }
}
