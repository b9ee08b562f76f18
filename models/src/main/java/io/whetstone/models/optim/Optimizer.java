package io.whetstone.models.optim;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Updates the flat parameter vector from the flat gradient. Its state (moments) is a list of flat
 * vectors of the parameters' layout, so it can be averaged across partitions and checkpointed.
 */
public interface Optimizer {

    /** What one update did. */
    record Update(long step, double learningRate, double gradNorm, double clipScale) {
    }

    /** Applies one update with rate {@code learningRate} from the current gradients. */
    Update apply(double learningRate);

    /** State vectors, flat [P] each, in a fixed order (AdamW: m, v; SGD: none). */
    List<INDArray> state();

    /** Names of the state vectors, for checkpoints. */
    List<String> stateNames();

    /** Updates applied so far. */
    long step();

    /** Sets the update counter (restoring or averaging state). */
    void setStep(long step);
}
