package io.whetstone.datasets.pack;

import java.util.List;

/** Assembles rows into the flat arrays of a training batch: inputs, targets (-1 for none) and loss mask. */
public final class Batches {

    private Batches() {
    }

    /** [B*T] inputs, targets and mask of {@code rows}, all of the same T. */
    public static Flat flatten(List<PackedSequence> rows) {
        int seqLen = rows.get(0).seqLen();
        int n = rows.size() * seqLen;
        int[] tokens = new int[n];
        int[] targets = new int[n];
        float[] mask = new float[n];
        for (int b = 0; b < rows.size(); b++) {
            PackedSequence row = rows.get(b);
            if (row.seqLen() != seqLen) {
                throw new IllegalArgumentException("rows of one batch differ in length: " + seqLen + " and " + row.seqLen());
            }
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                tokens[i] = row.ids()[t];
                boolean counted = row.targetMask()[t + 1];
                targets[i] = counted ? row.ids()[t + 1] : -1;
                mask[i] = counted ? 1f : 0f;
            }
        }
        return new Flat(tokens, targets, mask, rows.size(), seqLen);
    }

    /** A batch as flat arrays. */
    public record Flat(int[] tokens, int[] targets, float[] mask, int batch, int seqLen) {
    }
}
