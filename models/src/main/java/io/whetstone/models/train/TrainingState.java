package io.whetstone.models.train;

import io.whetstone.models.engine.Transformer;
import io.whetstone.models.optim.AdamW;
import java.io.Serializable;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Parameters and optimiser state as plain flat float vectors (the layout of
 * {@link io.whetstone.models.engine.ParameterLayout}): what the driver broadcasts, partitions return
 * and checkpoints store. {@link #capture} and {@link #restore} round-trip bit-exactly.
 *
 * @param params [P]
 * @param firstMoment [P], AdamW's m
 * @param secondMoment [P], AdamW's v
 * @param step optimiser updates applied
 */
public record TrainingState(float[] params, float[] firstMoment, float[] secondMoment, long step)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    public TrainingState {
        if (params.length != firstMoment.length || params.length != secondMoment.length) {
            throw new IllegalArgumentException("state vectors differ in length: " + params.length + ", "
                    + firstMoment.length + ", " + secondMoment.length);
        }
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0: " + step);
        }
    }

    /** A copy of the model's parameters and the optimiser's moments and step. fp32 models only. */
    public static TrainingState capture(Transformer model, AdamW optimizer) {
        return new TrainingState(toFloats(model.parameters().params()), toFloats(optimizer.firstMoment()),
                toFloats(optimizer.secondMoment()), optimizer.step());
    }

    /** Writes this state into {@code model} and {@code optimizer}. */
    public void restore(Transformer model, AdamW optimizer) {
        copyInto(params, model.parameters().params());
        copyInto(firstMoment, optimizer.firstMoment());
        copyInto(secondMoment, optimizer.secondMoment());
        optimizer.setStep(step);
    }

    /** Copies the flat fp32 array into a new float[]. */
    public static float[] toFloats(INDArray flat) {
        requireFloat(flat);
        return flat.data().asFloat();
    }

    /** Writes {@code values} into the flat fp32 array. */
    public static void copyInto(float[] values, INDArray flat) {
        requireFloat(flat);
        if (values.length != flat.length()) {
            throw new IllegalArgumentException("state has " + values.length + " values, model has " + flat.length());
        }
        flat.assign(Nd4j.createFromArray(values));
    }

    private static void requireFloat(INDArray flat) {
        if (flat.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("training state is fp32; this model runs in " + flat.dataType());
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TrainingState s && step == s.step && Arrays.equals(params, s.params)
                && Arrays.equals(firstMoment, s.firstMoment) && Arrays.equals(secondMoment, s.secondMoment);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(params) * 31 + Long.hashCode(step);
    }

    @Override
    public String toString() {
        return "TrainingState[" + params.length + " params, step " + step + "]";
    }
}
