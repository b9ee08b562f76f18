package io.whetstone.models.rl;

/**
 * PPO's clipped value loss over counted tokens: 0.5 * max((V - R)^2, (clip(V, V_old - eps, V_old + eps) - R)^2),
 * summed and divided by the normaliser (the minibatch's counted tokens).
 */
public final class ValueLoss {

    private final double clip;

    public ValueLoss(double clip) {
        if (!(clip > 0)) {
            throw new IllegalArgumentException("the value clip must be > 0: " + clip);
        }
        this.clip = clip;
    }

    /** Loss and d loss / d value per position, and the clipped count. */
    public record Result(double loss, double[] dValues, double clippedTokens) {
    }

    public Result evaluate(double[] values, double[] oldValues, double[] returns, float[] mask, double normalizer) {
        double[] grad = new double[values.length];
        double loss = 0;
        double clipped = 0;
        for (int i = 0; i < values.length; i++) {
            if (mask[i] == 0) {
                continue;
            }
            double v = values[i];
            double bounded = Math.max(oldValues[i] - clip, Math.min(oldValues[i] + clip, v));
            double plain = (v - returns[i]) * (v - returns[i]);
            double limited = (bounded - returns[i]) * (bounded - returns[i]);
            double weight = mask[i] / normalizer;
            if (plain >= limited) {
                loss += weight * 0.5 * plain;
                grad[i] = weight * (v - returns[i]);
            } else {
                loss += weight * 0.5 * limited;
                clipped += mask[i];
                // bounded depends on v only inside the clip window, where it equals v
                boolean inside = v > oldValues[i] - clip && v < oldValues[i] + clip;
                grad[i] = inside ? weight * (bounded - returns[i]) : 0;
            }
        }
        return new Result(loss, grad, clipped);
    }
}
