package io.whetstone.models.optim;

import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.Kernels;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Plain SGD: p -= lr * clip(g), with decoupled weight decay on the decayed prefix. No state, so
 * averaging SGD-trained parameters after every step equals summing gradients (a distribution invariant).
 */
public final class Sgd implements Optimizer {

    private final ParameterStore store;
    private final Kernels kernels;
    private final double weightDecay;
    private final double maxGradNorm;
    private long step;

    public Sgd(ParameterStore store, Kernels kernels, double weightDecay, double maxGradNorm) {
        if (weightDecay < 0 || maxGradNorm < 0) {
            throw new IllegalArgumentException("weight_decay and max_grad_norm must be >= 0");
        }
        this.store = store;
        this.kernels = kernels;
        this.weightDecay = weightDecay;
        this.maxGradNorm = maxGradNorm;
    }

    @Override
    public Update apply(double learningRate) {
        double norm = GradientClipping.norm(store, kernels, step + 1);
        double scale = GradientClipping.scale(norm, maxGradNorm);
        step++;
        INDArray params = store.params();
        long decayed = store.layout().decayedLength();
        if (weightDecay > 0 && decayed > 0) {
            params.get(NDArrayIndex.interval(0, decayed)).muli(1 - learningRate * weightDecay);
        }
        params.subi(store.grads().mul(learningRate * scale));
        return new Update(step, learningRate, norm, scale);
    }

    @Override
    public List<INDArray> state() {
        return List.of();
    }

    @Override
    public List<String> stateNames() {
        return List.of();
    }

    @Override
    public long step() {
        return step;
    }

    @Override
    public void setStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0: " + step);
        }
        this.step = step;
    }
}
