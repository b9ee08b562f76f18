package io.whetstone.models.optim;

import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.Kernels;

/** Global-norm gradient clipping, shared by the optimisers. */
final class GradientClipping {

    private GradientClipping() {
    }

    /** ||g||_2 of the store's gradients, in a fixed summation order; fails clearly on NaN/Inf. */
    static double norm(ParameterStore store, Kernels kernels, long step) {
        double norm = Math.sqrt(kernels.sumOfSquares(store.grads()));
        if (!Double.isFinite(norm)) {
            throw new TrainingDivergedException("gradient norm is " + norm + " at step " + step
                    + ": the loss diverged (lower train.lr or raise warmup) or the input holds NaN/Inf");
        }
        return norm;
    }

    /** The factor that brings {@code norm} down to {@code maxNorm} (1 when within it or clipping is off). */
    static double scale(double norm, double maxNorm) {
        return maxNorm > 0 && norm > maxNorm ? maxNorm / norm : 1.0;
    }
}
