package io.whetstone.jobs.rl;

import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.models.ModelConfig;
import java.util.Map;

/**
 * What an RL run did.
 *
 * @param runDir the run directory
 * @param checkpoint the last checkpoint written, or null
 * @param config the policy's shape
 * @param policy the final policy's parameters
 * @param tokenizer the policy's tokenizer
 * @param iterationsRun iterations run in this invocation
 * @param stopReason why the run stopped before its last iteration (a guard breach), or null
 * @param evalBefore held-out mean reward per component before training (empty without eval data)
 * @param evalAfter the same after training
 * @param firstRewardMean mean training reward of the first iteration run
 * @param lastRewardMean mean training reward of the last iteration run
 * @param completionsPerSecond completions sampled per second of rollout time
 * @param seconds mean seconds per iteration: total, generation, scoring, log-prob passes, update, aggregation
 */
public record RlResult(String runDir, String checkpoint, ModelConfig config, float[] policy, Tokenizer tokenizer,
                       int iterationsRun, String stopReason, Map<String, Double> evalBefore,
                       Map<String, Double> evalAfter, double firstRewardMean, double lastRewardMean,
                       double completionsPerSecond, Map<String, Double> seconds) {
}
