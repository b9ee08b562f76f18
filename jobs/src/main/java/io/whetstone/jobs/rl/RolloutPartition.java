package io.whetstone.jobs.rl;

import java.io.Serializable;
import java.util.List;

/**
 * What one partition's rollout task returns: its rollouts and where its time went.
 *
 * @param rollouts the partition's samples, by prompt index then sample
 * @param generationNanos sampling
 * @param scoringNanos rewards
 * @param logProbNanos the policy's, reference's and value head's forward passes
 * @param rewardFailures completions whose reward failed
 * @param taskNanos the whole task on the executor: the three above plus taking the pooled model and loading the
 *     policy's parameters
 */
public record RolloutPartition(List<Rollout> rollouts, long generationNanos, long scoringNanos, long logProbNanos,
                               long rewardFailures, long taskNanos) implements Serializable {

    private static final long serialVersionUID = 1L;
}
