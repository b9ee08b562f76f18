package io.whetstone.models.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The head-major arrays of one attention call (or their gradients), through which {@link Kernels}'
 * default {@code attentionFromRows} composes splitHeads, attention and mergeHeads.
 *
 * @param q queries [B, K, G, T, D]
 * @param k keys [B, K, T, D]
 * @param v values [B, K, T, D]
 * @param y outputs [B, K, G, T, D]
 */
public record HeadArrays(INDArray q, INDArray k, INDArray v, INDArray y) {
}
