package io.whetstone.datasets.tasks;

import java.io.Serializable;

/** Decides whether a completion solves a task example: the reward and evaluation signal. */
@FunctionalInterface
public interface Verifier extends Serializable {

    /** True when {@code completion}'s final answer equals {@code example}'s. */
    boolean correct(TaskExample example, String completion);
}
