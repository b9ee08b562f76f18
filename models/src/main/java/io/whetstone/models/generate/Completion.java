package io.whetstone.models.generate;

import java.io.Serializable;

/**
 * A sampled continuation.
 *
 * @param tokens the generated ids (the stop id included, if one ended it)
 * @param logProbs log-probability of each generated id under the model (temperature 1, no truncation):
 *                 what a teacher-forced forward pass over prompt + tokens gives
 * @param samplerLogProbs log-probability of each id under the distribution actually sampled from
 *                        (after temperature, top-k and top-p; 0 for greedy)
 * @param finish why it ended
 * @param samplerEntropy the entropy (nats) of the distribution sampled from at each step (0 for greedy), or null
 *                       where the decoder did not record it
 */
public record Completion(int[] tokens, float[] logProbs, float[] samplerLogProbs, Finish finish,
                         float[] samplerEntropy) implements Serializable {

    private static final long serialVersionUID = 2L;

    /** A completion without the sampler's entropies. */
    public Completion(int[] tokens, float[] logProbs, float[] samplerLogProbs, Finish finish) {
        this(tokens, logProbs, samplerLogProbs, finish, null);
    }

    /** Why generation of a row ended. */
    public enum Finish {
        /** A stop id was generated. */
        STOP,
        /** max_new_tokens were generated. */
        LENGTH,
        /** The model's maximum sequence length was reached. */
        CONTEXT
    }
}
