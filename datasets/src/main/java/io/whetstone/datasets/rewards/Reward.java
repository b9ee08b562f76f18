package io.whetstone.datasets.rewards;

import java.io.Serializable;

/** A reward component: a scalar for one completion. Shipped to the executors, so serialisable. */
@FunctionalInterface
public interface Reward extends Serializable {

    /** The reward of {@code input}; may throw, which the scorer counts as a failure. */
    double score(RewardInput input) throws Exception;
}
