package io.whetstone.datasets.rewards;

import java.io.Serializable;
import java.util.List;

/** A reward component: a scalar for one completion. Shipped to the executors, so serialisable. */
@FunctionalInterface
public interface Reward extends Serializable {

    /** The reward of {@code input}; may throw, which the scorer counts as a failure. */
    double score(RewardInput input) throws Exception;

    /**
     * The rewards of {@code inputs}, in order: a reward that scores many inputs at once faster (a reward model's
     * batched forward) overrides this; each value must equal what {@link #score} gives for that input. May throw,
     * after which the scorer scores the inputs one by one to tell which failed.
     */
    default double[] scoreAll(List<RewardInput> inputs) throws Exception {
        double[] out = new double[inputs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = score(inputs.get(i));
        }
        return out;
    }
}
