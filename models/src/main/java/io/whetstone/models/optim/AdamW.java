package io.whetstone.models.optim;

import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.AdamStep;
import io.whetstone.models.kernels.Kernels;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * AdamW over the flat parameter vector, with global-norm clipping folded into the update (one pass
 * over parameters, gradients and both moments). The moments are flat vectors of the same layout, so
 * they average across Spark partitions like the parameters do.
 */
public final class AdamW implements Optimizer {

    private final ParameterStore store;
    private final Kernels kernels;
    private final AdamWConfig config;
    private final INDArray firstMoment;
    private final INDArray secondMoment;
    private long step;

    public AdamW(ParameterStore store, Kernels kernels, AdamWConfig config) {
        this.store = store;
        this.kernels = kernels;
        this.config = config;
        this.firstMoment = Nd4j.zeros(store.dataType(), store.params().length());
        this.secondMoment = Nd4j.zeros(store.dataType(), store.params().length());
    }

    /** Applies one update with rate {@code learningRate} from the gradients in the store. */
    @Override
    public Update apply(double learningRate) {
        double norm = GradientClipping.norm(store, kernels, step + 1);
        double scale = GradientClipping.scale(norm, config.maxGradNorm());
        step++;
        kernels.adamW(store.params(), store.grads(), firstMoment, secondMoment, store.layout().decayedLength(),
                new AdamStep(learningRate, config.beta1(), config.beta2(), config.epsilon(), config.weightDecay(),
                        step, scale));
        return new Update(step, learningRate, norm, scale);
    }

    public AdamWConfig config() {
        return config;
    }

    /** m, flat [P]. */
    public INDArray firstMoment() {
        return firstMoment;
    }

    /** v, flat [P]. */
    public INDArray secondMoment() {
        return secondMoment;
    }

    @Override
    public java.util.List<INDArray> state() {
        return java.util.List.of(firstMoment, secondMoment);
    }

    @Override
    public java.util.List<String> stateNames() {
        return java.util.List.of("adamw.m", "adamw.v");
    }

    /** Updates applied so far. */
    @Override
    public long step() {
        return step;
    }

    /** Sets the update counter (when restoring or averaging state). */
    @Override
    public void setStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0: " + step);
        }
        this.step = step;
    }
}
