package io.whetstone.datasets.pack;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One training row of T+1 token ids: inputs are ids[0..T), targets ids[1..T], and {@code lossMask[t]}
 * says whether predicting ids[t+1] counts. Padding has target -1 and mask false.
 *
 * @param ids T+1 token ids
 * @param targetMask T+1 flags, one per id: whether that id is a trained target (flag 0 is never used)
 * @param examples number of examples packed into the row
 */
public record PackedSequence(int[] ids, boolean[] targetMask, int examples) implements Serializable {

    private static final long serialVersionUID = 1L;

    public PackedSequence {
        if (ids.length != targetMask.length || ids.length < 2) {
            throw new IllegalArgumentException("a packed row needs >= 2 ids and one flag per id");
        }
    }

    /** T, the input length. */
    public int seqLen() {
        return ids.length - 1;
    }

    /** Tokens that count in the loss. */
    public int trainableTokens() {
        int count = 0;
        for (int i = 1; i < targetMask.length; i++) {
            if (targetMask[i]) {
                count++;
            }
        }
        return count;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof PackedSequence p && examples == p.examples && Arrays.equals(ids, p.ids)
                && Arrays.equals(targetMask, p.targetMask);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ids);
    }
}
