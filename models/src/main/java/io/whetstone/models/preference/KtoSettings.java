package io.whetstone.models.preference;

import java.io.Serializable;

/**
 * KTO's coefficients.
 *
 * @param beta the inverse temperature of the implicit reward
 * @param desirableWeight weight of a desirable example's loss (lambda_D)
 * @param undesirableWeight weight of an undesirable example's loss (lambda_U)
 */
public record KtoSettings(double beta, double desirableWeight, double undesirableWeight) implements Serializable {

    private static final long serialVersionUID = 1L;

    public KtoSettings {
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw new IllegalArgumentException("kto.beta must be > 0, got " + beta);
        }
        if (!(desirableWeight > 0) || Double.isInfinite(desirableWeight)) {
            throw new IllegalArgumentException("kto.desirable_weight must be > 0, got " + desirableWeight);
        }
        if (!(undesirableWeight > 0) || Double.isInfinite(undesirableWeight)) {
            throw new IllegalArgumentException("kto.undesirable_weight must be > 0, got " + undesirableWeight);
        }
    }
}
