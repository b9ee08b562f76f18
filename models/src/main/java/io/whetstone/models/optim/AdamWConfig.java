package io.whetstone.models.optim;

/**
 * AdamW's settings.
 *
 * @param beta1 first-moment decay, in [0, 1)
 * @param beta2 second-moment decay, in [0, 1)
 * @param epsilon added to the root of the second moment, > 0
 * @param weightDecay decoupled decay coefficient (applied to matrices and embeddings only), >= 0
 * @param maxGradNorm global-norm clipping threshold; 0 turns clipping off
 */
public record AdamWConfig(double beta1, double beta2, double epsilon, double weightDecay, double maxGradNorm)
        implements java.io.Serializable {

    public AdamWConfig {
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("beta1 must be in [0, 1): " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2 must be in [0, 1): " + beta2);
        }
        if (!(epsilon > 0)) {
            throw new IllegalArgumentException("epsilon must be > 0: " + epsilon);
        }
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("weight_decay must be >= 0: " + weightDecay);
        }
        if (!(maxGradNorm >= 0)) {
            throw new IllegalArgumentException("max_grad_norm must be >= 0: " + maxGradNorm);
        }
    }

    /** GPT-style defaults: betas (0.9, 0.95), eps 1e-8, decay 0.1, clip at 1.0. */
    public static AdamWConfig defaults() {
        return new AdamWConfig(0.9, 0.95, 1e-8, 0.1, 1.0);
    }
}
