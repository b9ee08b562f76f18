package io.whetstone.models.optim;

/**
 * The loss or the gradients became NaN or infinite: the run diverged (a learning rate too high for the model, or
 * NaN/Inf in the input), which the user fixes by changing the settings, not a fault in the trainer.
 */
public final class TrainingDivergedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(message);
    }
}
