package io.whetstone.models.rl;

import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.engine.TensorSpec;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PPO's value head on the policy: a linear map of the final normed hidden state to a scalar per position,
 * V = h . w + b (TRL's {@code v_head}). Its parameters live in their own flat store, which trainers append
 * to the policy's; it starts at zero (V = 0 everywhere), so the first updates only move w and b.
 */
public final class ValueHead {

    private final ParameterStore store;
    private final INDArray weight; // [C]
    private final INDArray bias; // [1]

    public ValueHead(int width, DataType dataType) {
        this(new ParameterStore(layout(width), dataType));
    }

    /** The head whose tensors live in {@code store} (a model's store with the head appended). */
    public ValueHead(ParameterStore store) {
        this.store = store;
        this.weight = store.tensor("value_head.weight");
        this.bias = store.tensor("value_head.bias");
    }

    /**
     * The head's tensors: weight [C] and bias [1], both starting at zero and neither decayed, so that appended to
     * a model's layout they keep the flat order model then head that RL checkpoints use (decayed tensors come
     * first in a layout).
     */
    public static ParameterLayout layout(int width) {
        return ParameterLayout.of(List.of(
                new TensorSpec("value_head.weight", new long[] {width}, false, TensorSpec.Init.ZEROS, 0),
                new TensorSpec("value_head.bias", new long[] {1}, false, TensorSpec.Init.ZEROS, 0)));
    }

    public ParameterStore parameters() {
        return store;
    }

    /** Values of every row of {@code hidden} [N, C]: [N]. */
    public double[] forward(INDArray hidden) {
        INDArray values = hidden.mmul(weight.reshape(weight.length(), 1)).reshape(hidden.rows()); // [N]
        double b = bias.getDouble(0);
        double[] out = new double[(int) values.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.getDouble(i) + b;
        }
        return out;
    }

    /**
     * Accumulates d loss / d (w, b) into the store's gradients (+=) from {@code dValues} [N] and returns
     * d loss / d hidden [N, C] = dValues (outer) w.
     */
    public INDArray backward(INDArray hidden, double[] dValues) {
        INDArray dv = Nd4j.createFromArray(dValues).castTo(hidden.dataType()).reshape(dValues.length, 1); // [N, 1]
        INDArray dWeight = store.gradient("value_head.weight");
        dWeight.addi(hidden.transpose().mmul(dv).reshape(dWeight.length())); // [C]
        INDArray dBias = store.gradient("value_head.bias");
        dBias.addi(dv.sumNumber().doubleValue());
        return dv.mmul(weight.reshape(1, weight.length())); // [N, C]
    }
}
