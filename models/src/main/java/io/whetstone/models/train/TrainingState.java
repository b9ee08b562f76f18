package io.whetstone.models.train;

import io.whetstone.models.engine.BulkArrays;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.optim.Optimizer;
import java.io.Serializable;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Parameters and optimiser state as plain flat float vectors (the layout of
 * {@link io.whetstone.models.engine.ParameterLayout}): what the driver broadcasts, partitions return
 * and checkpoints store. {@link #capture} and {@link #restore} round-trip bit-exactly.
 *
 * @param params [P]
 * @param optimizerState the optimiser's state vectors, [P] each (AdamW: m, v; SGD: none)
 * @param step optimiser updates applied
 */
public record TrainingState(float[] params, float[][] optimizerState, long step) implements Serializable {

    private static final long serialVersionUID = 2L;

    /** Serialised as {@link Wire}: the vectors in bulk (records ignore writeObject; writeReplace is honoured). */
    private Object writeReplace() {
        return new Wire(this);
    }

    /** The serial form of a {@link TrainingState}: step, then the vectors as raw bytes ({@link BulkArrays}). */
    public static final class Wire implements java.io.Externalizable {
        private static final long serialVersionUID = 1L;
        private TrainingState state;

        /** For deserialisation. */
        public Wire() {
        }

        Wire(TrainingState state) {
            this.state = state;
        }

        @Override
        public void writeExternal(java.io.ObjectOutput out) throws java.io.IOException {
            out.writeLong(state.step());
            BulkArrays.writeFloats(out, state.params());
            BulkArrays.writeFloatRows(out, state.optimizerState());
        }

        @Override
        public void readExternal(java.io.ObjectInput in) throws java.io.IOException {
            long step = in.readLong();
            float[] params = BulkArrays.readFloats(in);
            state = new TrainingState(params, BulkArrays.readFloatRows(in), step);
        }

        private Object readResolve() {
            return state;
        }
    }

    public TrainingState {
        for (float[] vector : optimizerState) {
            if (vector.length != params.length) {
                throw new IllegalArgumentException("optimizer state of length " + vector.length + " for "
                        + params.length + " parameters");
            }
        }
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0: " + step);
        }
    }

    /** A copy of the model's trainable parameters (adapters, if any) and the optimiser's state and step. */
    public static TrainingState capture(Transformer model, Optimizer optimizer) {
        return capture(model.trainableParameters().params(), optimizer);
    }

    /** A copy of flat {@code params} and the optimiser's state and step. */
    public static TrainingState capture(INDArray params, Optimizer optimizer) {
        List<INDArray> state = optimizer.state();
        float[][] vectors = new float[state.size()][];
        for (int i = 0; i < vectors.length; i++) {
            vectors[i] = toFloats(state.get(i));
        }
        return new TrainingState(toFloats(params), vectors, optimizer.step());
    }

    /** Writes this state into {@code model}'s trainable parameters and {@code optimizer}. */
    public void restore(Transformer model, Optimizer optimizer) {
        restore(model.trainableParameters().params(), optimizer);
    }

    /** Writes this state into flat {@code params} and {@code optimizer}. */
    public void restore(INDArray params, Optimizer optimizer) {
        copyInto(this.params, params);
        List<INDArray> state = optimizer.state();
        if (state.size() != optimizerState.length) {
            throw new IllegalArgumentException("state holds " + optimizerState.length
                    + " optimizer vectors, the optimizer has " + state.size());
        }
        for (int i = 0; i < optimizerState.length; i++) {
            copyInto(optimizerState[i], state.get(i));
        }
        optimizer.setStep(step);
    }

    /** Copies the flat fp32 array into a new float[]. */
    public static float[] toFloats(INDArray flat) {
        requireFloat(flat);
        if (hostWhole(flat)) {
            float[] out = new float[(int) flat.length()];
            ((FloatPointer) flat.data().pointer()).get(out);
            return out;
        }
        return (flat.isView() ? flat.dup() : flat).data().asFloat();
    }

    /** Writes {@code values} into the flat fp32 array. */
    public static void copyInto(float[] values, INDArray flat) {
        requireFloat(flat);
        if (values.length != flat.length()) {
            throw new IllegalArgumentException("state has " + values.length + " values, model has " + flat.length());
        }
        if (hostWhole(flat)) {
            ((FloatPointer) flat.data().pointer()).put(values);
            return;
        }
        flat.assign(Nd4j.createFromArray(values));
    }

    /**
     * Whether {@code flat} is a whole fp32 buffer in host memory (the CPU backend, not a view): then one bulk copy
     * through its JavaCPP pointer moves it, several times faster than {@code DataBuffer.asFloat} and
     * {@code assign(createFromArray)} (README "Scaling"); the state is restored and captured every round on the
     * driver and in every task.
     */
    static boolean hostWhole(INDArray flat) {
        return Nd4j.getEnvironment().isCPU() && !flat.isView() && flat.offset() == 0
                && flat.data().offset() == 0 && flat.data().length() == flat.length()
                && flat.data().pointer() instanceof FloatPointer;
    }

    private static void requireFloat(INDArray flat) {
        if (flat.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("training state is fp32; this model runs in " + flat.dataType());
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TrainingState s && step == s.step && Arrays.equals(params, s.params)
                && Arrays.deepEquals(optimizerState, s.optimizerState);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(params) * 31 + Long.hashCode(step);
    }

    @Override
    public String toString() {
        return "TrainingState[" + params.length + " params, " + optimizerState.length + " optimizer vectors, step "
                + step + "]";
    }
}
