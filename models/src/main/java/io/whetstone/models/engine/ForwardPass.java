package io.whetstone.models.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a forward pass leaves for the objective. The arrays belong to the model and are overwritten
 * by the next forward; {@code logits} is turned into d loss / d logits by the backward.
 *
 * @param logProbs [B, T] log-probability of each target under the model (0 where the target is negative)
 * @param logits [N, V] raw next-token scores
 * @param targets [N] target ids, negative for "no target"
 * @param batch B
 * @param seqLen T
 * @param hidden [N, C] the final normed hidden states (what the LM head reads; heads such as PPO's value
 *               head read them too), or null where a caller has none
 */
public record ForwardPass(INDArray logProbs, INDArray logits, int[] targets, int batch, int seqLen, INDArray hidden) {

    /** A pass without hidden states (objectives that read only log-probs and logits). */
    public ForwardPass(INDArray logProbs, INDArray logits, int[] targets, int batch, int seqLen) {
        this(logProbs, logits, targets, batch, seqLen, null);
    }
}
