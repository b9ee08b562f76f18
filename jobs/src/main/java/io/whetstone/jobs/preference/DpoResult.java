package io.whetstone.jobs.preference;

import io.whetstone.datasets.spark.PreferenceStats;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.models.ModelConfig;
import java.util.Map;

/**
 * What a preference-optimisation run produced.
 *
 * @param runDir the run directory
 * @param checkpoint the final checkpoint directory
 * @param config the model's shape
 * @param params the final parameters
 * @param tokenizer the tokenizer trained with
 * @param corpus what preparing the corpus found
 * @param referenceFromCache whether the reference's log-probs came from the cache (false without a reference)
 * @param roundsRun rounds run in this invocation
 * @param firstLoss loss of the first round run here
 * @param lastLoss loss of the last round
 * @param lastRound the last round's derived numbers (preference accuracy, reward margin, ...), empty if none ran
 * @param rewardModel a reward model's export (sequence-classification layout), or null for a policy
 */
public record DpoResult(String runDir, String checkpoint, ModelConfig config, float[] params, Tokenizer tokenizer,
                        PreferenceStats corpus, boolean referenceFromCache, int roundsRun, double firstLoss,
                        double lastLoss, Map<String, Object> lastRound, String rewardModel) {
}
