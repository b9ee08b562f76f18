package io.whetstone.models.kernels;

/**
 * Sizes of one attention call. Query heads are grouped by the key/value head they share, so the
 * query tensor is laid out [B, K, G, T, D] and can be multiplied by keys [B, K, T, D] as one batched
 * matmul of [B*K, G*T, D] x [B*K, D, T], with no copies of keys or values per query head.
 *
 * @param batch B
 * @param seqLen T
 * @param heads H
 * @param kvHeads K
 * @param headSize D
 */
public record AttentionShape(int batch, int seqLen, int heads, int kvHeads, int headSize) {

    public AttentionShape {
        if (batch <= 0 || seqLen <= 0 || heads <= 0 || kvHeads <= 0 || headSize <= 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("bad attention shape " + batch + "x" + seqLen + " heads " + heads
                    + "/" + kvHeads + " head size " + headSize);
        }
    }

    /** G, query heads per key/value head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** N = B*T rows of the residual stream. */
    public int rows() {
        return batch * seqLen;
    }

    /** Width of the fused qkv projection, (H + 2K) * D. */
    public int qkvWidth() {
        return (heads + 2 * kvHeads) * headSize;
    }
}
