package io.whetstone.models.rl;

/**
 * The adaptive KL coefficient of Ziegler et al. (2019), as in TRL's PPO: after each batch,
 * beta *= 1 + clip((KL - target) / target, -0.2, 0.2) * steps / horizon.
 */
public final class AdaptiveKlController {

    private final double target;
    private final double horizon;
    private double coef;

    public AdaptiveKlController(double initial, double target, double horizon) {
        if (!(initial >= 0) || !(target > 0) || !(horizon > 0)) {
            throw new IllegalArgumentException("need initial >= 0, target > 0, horizon > 0");
        }
        this.coef = initial;
        this.target = target;
        this.horizon = horizon;
    }

    public double coef() {
        return coef;
    }

    /** Adjusts the coefficient after {@code steps} steps at mean per-sequence KL {@code kl}. */
    public double update(double kl, int steps) {
        double error = Math.max(-0.2, Math.min(0.2, kl / target - 1));
        coef *= 1 + error * steps / horizon;
        return coef;
    }

    /** Restores a coefficient (from a checkpoint). */
    public void set(double value) {
        this.coef = value;
    }
}
