package io.whetstone.models.optim;

/**
 * Linear warm-up to the peak rate, then cosine decay to {@code minRatio * peak} at {@code totalSteps}
 * (constant after that).
 *
 * @param peak peak learning rate, > 0
 * @param warmupSteps steps of linear warm-up, >= 0
 * @param totalSteps step at which the decay ends, > warmupSteps
 * @param minRatio final rate as a fraction of the peak, in [0, 1]
 */
public record LrSchedule(double peak, long warmupSteps, long totalSteps, double minRatio)
        implements java.io.Serializable {

    public LrSchedule {
        if (!(peak > 0)) {
            throw new IllegalArgumentException("learning rate must be > 0: " + peak);
        }
        if (warmupSteps < 0 || totalSteps <= warmupSteps) {
            throw new IllegalArgumentException("need 0 <= warmup_steps < total_steps, got " + warmupSteps + " and "
                    + totalSteps);
        }
        if (!(minRatio >= 0 && minRatio <= 1)) {
            throw new IllegalArgumentException("min_lr_ratio must be in [0, 1]: " + minRatio);
        }
    }

    /** A constant rate (no warm-up, no decay). */
    public static LrSchedule constant(double rate) {
        return new LrSchedule(rate, 0, 1, 1.0);
    }

    /** The same schedule with every rate multiplied by {@code factor} (> 0; an RL rollback's damping). */
    public LrSchedule scaled(double factor) {
        return factor == 1.0 ? this : new LrSchedule(peak * factor, warmupSteps, totalSteps, minRatio);
    }

    /** The rate of step {@code step} (counted from 1). */
    public double rate(long step) {
        if (step <= warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        if (step >= totalSteps) {
            return peak * minRatio;
        }
        double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return peak * (minRatio + (1 - minRatio) * cosine);
    }
}
