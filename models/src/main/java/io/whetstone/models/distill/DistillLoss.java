package io.whetstone.models.distill;

/**
 * A token-level distillation loss: which divergence, the JSD mixing coefficient and the temperature
 * both distributions are taken at (softmax(logits / temperature), as TRL's GKD; the loss is not
 * rescaled by temperature^2).
 *
 * @param divergence forward KL, reverse KL or generalized JSD
 * @param beta the JSD's mixing coefficient, in (0, 1); ignored by the KL divergences
 * @param temperature > 0
 */
public record DistillLoss(Divergence divergence, double beta, double temperature) implements java.io.Serializable {

    public DistillLoss {
        if (divergence == null) {
            throw new IllegalArgumentException("a divergence is required");
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
        }
        if (divergence == Divergence.JSD && !(beta > 0 && beta < 1)) {
            throw new IllegalArgumentException("jsd needs beta in (0, 1) (beta 0 and 1 are forward_kl and "
                    + "reverse_kl), got " + beta);
        }
    }
}
