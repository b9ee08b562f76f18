package io.whetstone.jobs.rl;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.TensorSpec;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.rl.ValueHead;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The flat vector an RL job trains: the policy's parameters, then (PPO) the value head's. The driver's
 * optimiser runs over the concatenation, so gradient clipping and AdamW see one model.
 */
final class PolicyParameters {

    private PolicyParameters() {
    }

    /** The layout of the trained vector. */
    static ParameterLayout layout(ModelConfig config, boolean valueHead) {
        List<TensorSpec> specs = new ArrayList<>(ParameterLayout.of(config).tensors());
        if (valueHead) {
            specs.addAll(ValueHead.layout(config.width()).tensors());
        }
        return ParameterLayout.of(specs);
    }

    /** Copies {@code flat} into the policy and (when present) the head. */
    static void load(float[] flat, Transformer policy, ValueHead head) {
        INDArray params = policy.parameters().params();
        int policyLength = (int) params.length();
        int expected = policyLength + (head == null ? 0 : (int) head.parameters().params().length());
        if (flat.length != expected) {
            throw new IllegalArgumentException("expected " + expected + " parameters, got " + flat.length);
        }
        if (head == null) {
            TrainingState.copyInto(flat, params);
            return;
        }
        TrainingState.copyInto(java.util.Arrays.copyOfRange(flat, 0, policyLength), params);
        TrainingState.copyInto(java.util.Arrays.copyOfRange(flat, policyLength, flat.length), head.parameters().params());
    }

    /** The gradients of the policy and head, concatenated. */
    static float[] gradients(Transformer policy, ValueHead head) {
        return concat(policy.parameters().grads(), head == null ? null : head.parameters().grads());
    }

    /** The parameters of the policy and head, concatenated. */
    static float[] parameters(Transformer policy, ValueHead head) {
        return concat(policy.parameters().params(), head == null ? null : head.parameters().params());
    }

    /** Zeroes both gradients. */
    static void zeroGrads(Transformer policy, ValueHead head) {
        policy.parameters().zeroGrads();
        if (head != null) {
            head.parameters().zeroGrads();
        }
    }

    private static float[] concat(INDArray first, INDArray second) {
        float[] a = TrainingState.toFloats(first);
        if (second == null) {
            return a;
        }
        float[] b = TrainingState.toFloats(second);
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The policy's part of a flat vector. */
    static float[] policyPart(float[] flat, ModelConfig config) {
        int length = (int) ParameterLayout.of(config).length();
        return flat.length == length ? flat : java.util.Arrays.copyOfRange(flat, 0, length);
    }
}
