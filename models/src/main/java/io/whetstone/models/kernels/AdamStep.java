package io.whetstone.models.kernels;

/**
 * The scalars of one AdamW update (decoupled weight decay, as in PyTorch's {@code AdamW}):
 * p *= 1 - lr*weightDecay (decayed parameters only); g' = g * gradScale; m = b1 m + (1-b1) g';
 * v = b2 v + (1-b2) g'^2; p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 *
 * @param learningRate lr of this step
 * @param beta1 first-moment decay
 * @param beta2 second-moment decay
 * @param epsilon added to the root of the second moment
 * @param weightDecay decoupled decay coefficient
 * @param step t, counted from 1
 * @param gradScale factor applied to the gradient first (global-norm clipping), 1 for none
 */
public record AdamStep(double learningRate, double beta1, double beta2, double epsilon, double weightDecay, long step,
                       double gradScale) {

    public AdamStep {
        if (step < 1) {
            throw new IllegalArgumentException("adam step counts from 1: " + step);
        }
    }

    /** 1 - beta1^t. */
    public double firstCorrection() {
        return 1 - Math.pow(beta1, step);
    }

    /** 1 - beta2^t. */
    public double secondCorrection() {
        return 1 - Math.pow(beta2, step);
    }
}
