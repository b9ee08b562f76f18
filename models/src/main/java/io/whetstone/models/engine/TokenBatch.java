package io.whetstone.models.engine;

import java.util.Arrays;

/**
 * A batch of token sequences, row-major [B, T]: the input ids, the target of each position (the next
 * token; negative for none) and a per-token loss weight (1 for tokens the loss counts, 0 for prompt
 * or padding).
 *
 * @param tokens [B*T] input ids
 * @param targets [B*T] target ids, negative for none
 * @param lossMask [B*T] loss weights
 * @param batch B
 * @param seqLen T
 */
public record TokenBatch(int[] tokens, int[] targets, float[] lossMask, int batch, int seqLen) {

    public TokenBatch {
        int n = batch * seqLen;
        if (batch < 1 || seqLen < 1 || tokens.length != n || targets.length != n || lossMask.length != n) {
            throw new IllegalArgumentException("a " + batch + "x" + seqLen + " batch needs " + n
                    + " tokens, targets and mask values; got " + tokens.length + ", " + targets.length + ", "
                    + lossMask.length);
        }
        for (int i = 0; i < n; i++) {
            if (lossMask[i] != 0 && targets[i] < 0) {
                throw new IllegalArgumentException("position " + i + " has loss weight " + lossMask[i]
                        + " but no target");
            }
        }
    }

    /** Sum of the loss weights: the number of tokens the loss counts. */
    public double maskedTokens() {
        double sum = 0;
        for (float weight : lossMask) {
            sum += weight;
        }
        return sum;
    }

    /** B*T. */
    public int size() {
        return tokens.length;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TokenBatch b && batch == b.batch && seqLen == b.seqLen
                && Arrays.equals(tokens, b.tokens) && Arrays.equals(targets, b.targets)
                && Arrays.equals(lossMask, b.lossMask);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens) * 31 + Arrays.hashCode(targets);
    }

    @Override
    public String toString() {
        return "TokenBatch[" + batch + "x" + seqLen + "]";
    }
}
