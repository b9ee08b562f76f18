package io.whetstone.jobs.rollout;

import java.io.Serializable;

/**
 * One sampled and scored completion of a prompt.
 *
 * @param promptIndex the prompt's position in the input
 * @param promptId the prompt's id
 * @param sample which of the prompt's samples (0..N-1)
 * @param prompt the prompt text
 * @param completion the completion text (without the end-of-sequence token)
 * @param reference the prompt's reference ("" if none)
 * @param promptIds the prompt's token ids
 * @param completionIds the generated ids (ending in EOS when generation stopped there)
 * @param samplerLogProbs log-probs of the sampled tokens under the sampling distribution
 * @param decoderLogProbs log-probs under the model as the KV-cache decoder computed them
 * @param rewards each reward component (NaN where it failed)
 * @param reward the weighted total (NaN when a component failed)
 * @param failure why scoring failed, or null
 * @param finish stop, length or context
 * @param seed the sample's generator seed
 */
public record Sample(long promptIndex, String promptId, int sample, String prompt, String completion,
                     String reference, int[] promptIds, int[] completionIds, float[] samplerLogProbs,
                     float[] decoderLogProbs, double[] rewards, double reward, String failure, String finish,
                     long seed) implements Serializable {

    private static final long serialVersionUID = 1L;

    public boolean failed() {
        return failure != null;
    }
}
