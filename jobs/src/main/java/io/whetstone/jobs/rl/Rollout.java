package io.whetstone.jobs.rl;

import java.io.Serializable;

/**
 * One sampled completion with everything the update and the audit table need. Per-token arrays run over
 * the completion's tokens.
 *
 * @param promptIndex the prompt's position in the input
 * @param promptId the prompt's id
 * @param sample which of the group's samples (0..G-1)
 * @param prompt the prompt text
 * @param completion the completion text (without the end-of-sequence token)
 * @param reference the prompt's reference
 * @param promptIds the prompt's token ids
 * @param completionIds the generated ids (ending in EOS when generation stopped there)
 * @param samplerLogProbs log-probs of the sampled tokens under the sampling distribution
 * @param decoderLogProbs log-probs under the model as the KV-cache decoder computed them
 * @param oldLogProbs log-probs under the same policy from the trainer's forward pass (the ratio's denominator)
 * @param refLogProbs log-probs under the reference, or empty when no KL term needs them
 * @param values the value head's values (PPO), or empty
 * @param rewards each reward component (NaN where it failed)
 * @param reward the weighted total (NaN when a component failed)
 * @param failure why scoring failed, or null
 * @param finish stop, length or context
 * @param entropySum summed entropy of the policy over the completion's positions
 * @param policyVersion the optimiser step of the policy that sampled
 * @param seed the sample's generator seed
 */
public record Rollout(long promptIndex, String promptId, int sample, String prompt, String completion,
                      String reference, int[] promptIds, int[] completionIds, float[] samplerLogProbs,
                      float[] decoderLogProbs, float[] oldLogProbs, float[] refLogProbs, float[] values,
                      double[] rewards, double reward, String failure, String finish, double entropySum,
                      long policyVersion, long seed) implements Serializable {

    private static final long serialVersionUID = 1L;

    public boolean failed() {
        return failure != null;
    }

    public boolean truncated() {
        return !finish.equals("stop");
    }
}
