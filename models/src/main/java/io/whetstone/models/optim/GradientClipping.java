package io.whetstone.models.optim;

import io.whetstone.models.engine.ParameterStore;

/** Global-norm gradient clipping, shared by the optimisers. */
final class GradientClipping {

    private GradientClipping() {
    }

    /** ||g||_2 of the store's gradients; fails clearly on NaN/Inf. */
    static double norm(ParameterStore store, long step) {
        double norm = store.grads().norm2Number().doubleValue();
        if (!Double.isFinite(norm)) {
            throw new IllegalStateException("gradient norm is " + norm + " at step " + step
                    + ": the loss diverged or the input holds NaN/Inf");
        }
        return norm;
    }

    /** The factor that brings {@code norm} down to {@code maxNorm} (1 when within it or clipping is off). */
    static double scale(double norm, double maxNorm) {
        return maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1.0;
    }
}
