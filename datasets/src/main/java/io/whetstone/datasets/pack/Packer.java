package io.whetstone.datasets.pack;

import io.whetstone.datasets.tokenize.TokenizedExample;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns tokenized examples, in order, into rows of T+1 ids. With packing, whole examples are appended
 * to the current row while they fit, and the row is padded when the next does not (examples are never
 * split, so every completion keeps its prompt in view; attention can see earlier examples of the same
 * row, as in TRL's packing without position resets). Without packing, each example gets its own
 * padded row. Examples longer than T+1 must have been truncated or rejected before.
 */
public final class Packer implements Serializable {

    private static final long serialVersionUID = 1L;

    private final int seqLen;
    private final int padId;
    private final boolean packing;

    /** Rows of {@code seqLen}+1 ids, padded with {@code padId}. */
    public Packer(int seqLen, int padId, boolean packing) {
        if (seqLen < 1) {
            throw new IllegalArgumentException("seq_len must be >= 1: " + seqLen);
        }
        this.seqLen = seqLen;
        this.padId = padId;
        this.packing = packing;
    }

    /** The longest example that fits one row. */
    public int maxExampleLength() {
        return seqLen + 1;
    }

    public List<PackedSequence> pack(Iterable<TokenizedExample> examples) {
        List<PackedSequence> rows = new ArrayList<>();
        int[] ids = new int[seqLen + 1];
        boolean[] mask = new boolean[seqLen + 1];
        int used = 0;
        int count = 0;
        for (TokenizedExample example : examples) {
            if (example.length() > seqLen + 1) {
                throw new IllegalArgumentException(example.source() + ":" + example.line() + ": example of "
                        + example.length() + " tokens does not fit seq_len + 1 = " + (seqLen + 1));
            }
            if (used > 0 && (!packing || used + example.length() > seqLen + 1)) {
                rows.add(finish(ids, mask, used, count));
                used = 0;
                count = 0;
            }
            System.arraycopy(example.ids(), 0, ids, used, example.length());
            System.arraycopy(example.trainable(), 0, mask, used, example.length());
            used += example.length();
            count++;
        }
        if (used > 0) {
            rows.add(finish(ids, mask, used, count));
        }
        return rows;
    }

    private PackedSequence finish(int[] ids, boolean[] mask, int used, int count) {
        int[] row = Arrays.copyOf(ids, seqLen + 1);
        boolean[] rowMask = Arrays.copyOf(mask, seqLen + 1);
        Arrays.fill(row, used, seqLen + 1, padId);
        Arrays.fill(rowMask, used, seqLen + 1, false);
        rowMask[0] = false; // nothing predicts the first id of a row
        return new PackedSequence(row, rowMask, count);
    }
}
