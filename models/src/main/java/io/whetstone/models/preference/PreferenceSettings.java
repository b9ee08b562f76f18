package io.whetstone.models.preference;

import java.io.Serializable;

/**
 * A pairwise preference loss and its coefficients.
 *
 * @param loss the loss
 * @param beta the inverse temperature of the implicit reward (DPO's beta; IPO's regulariser tau; SimPO's
 *             reward scale; ORPO's weight of the odds-ratio term)
 * @param labelSmoothing the assumed probability that a pair's label is flipped, in [0, 0.5) (sigmoid and
 *                       SimPO only; conservative DPO)
 * @param simpoGamma SimPO's target reward margin (0 elsewhere)
 * @param sftWeight weight of an extra negative log-likelihood term on the chosen completion (per-token
 *                  mean per pair; RPO's alpha), 0 for none
 * @param dpopLambda DPO-Positive's weight of the penalty on the chosen log-prob falling below the reference's
 *                   (dpop only)
 */
public record PreferenceSettings(PreferenceLoss loss, double beta, double labelSmoothing, double simpoGamma,
                                 double sftWeight, double dpopLambda) implements Serializable {

    private static final long serialVersionUID = 1L;

    public PreferenceSettings {
        if (loss == null) {
            throw new IllegalArgumentException("preference.loss is required");
        }
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw new IllegalArgumentException("preference.beta must be > 0, got " + beta);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new IllegalArgumentException("preference.label_smoothing must be in [0, 0.5), got " + labelSmoothing);
        }
        if (labelSmoothing > 0 && (loss == PreferenceLoss.IPO || loss == PreferenceLoss.ORPO)) {
            throw new IllegalArgumentException("preference.label_smoothing applies to sigmoid and simpo only, not "
                    + loss.id() + " (got " + labelSmoothing + ")");
        }
        if (!(simpoGamma >= 0) || Double.isInfinite(simpoGamma)) {
            throw new IllegalArgumentException("preference.simpo_gamma must be >= 0, got " + simpoGamma);
        }
        if (simpoGamma > 0 && loss != PreferenceLoss.SIMPO) {
            throw new IllegalArgumentException("preference.simpo_gamma applies to simpo only, not " + loss.id()
                    + " (got " + simpoGamma + ")");
        }
        if (!(sftWeight >= 0) || Double.isInfinite(sftWeight)) {
            throw new IllegalArgumentException("preference.sft_weight must be >= 0, got " + sftWeight);
        }
        if (!(dpopLambda >= 0) || Double.isInfinite(dpopLambda)) {
            throw new IllegalArgumentException("preference.dpop_lambda must be >= 0, got " + dpopLambda);
        }
        if (dpopLambda > 0 && loss != PreferenceLoss.DPOP) {
            throw new IllegalArgumentException("preference.dpop_lambda applies to dpop only, not " + loss.id()
                    + " (got " + dpopLambda + ")");
        }
        if (labelSmoothing > 0 && loss == PreferenceLoss.DPOP) {
            throw new IllegalArgumentException("preference.label_smoothing applies to sigmoid and simpo only, not dpop");
        }
    }

    /** Without DPO-Positive's penalty. */
    public PreferenceSettings(PreferenceLoss loss, double beta, double labelSmoothing, double simpoGamma,
                              double sftWeight) {
        this(loss, beta, labelSmoothing, simpoGamma, sftWeight, 0);
    }

    /** Plain DPO with {@code beta}. */
    public static PreferenceSettings dpo(double beta) {
        return new PreferenceSettings(PreferenceLoss.SIGMOID, beta, 0, 0, 0);
    }
}
