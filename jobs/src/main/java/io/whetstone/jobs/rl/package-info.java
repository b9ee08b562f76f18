/**
 * Online RL on Spark (GRPO and PPO). Each iteration: the driver picks a batch of prompts; the executors
 * sample a group of completions per prompt from the broadcast policy, score them with the rewards and
 * compute the log-probability passes (policy, reference, values); the driver computes advantages and
 * writes the iteration's rollouts as Parquet; the update then runs over the partitions, either summing
 * gradients on the driver for every minibatch (synchronous) or averaging parameters after local steps.
 * Guards check KL, entropy and length bands after every iteration, and stop or roll back on a breach.
 */
package io.whetstone.jobs.rl;
