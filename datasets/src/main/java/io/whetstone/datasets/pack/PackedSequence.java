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
 * @param teacher a teacher's top-k next-token log-probabilities at the trained positions, or null
 */
public record PackedSequence(int[] ids, boolean[] targetMask, int examples, TeacherTopK teacher)
        implements Serializable {

    private static final long serialVersionUID = 2L;

    public PackedSequence {
        if (ids.length != targetMask.length || ids.length < 2) {
            throw new IllegalArgumentException("a packed row needs >= 2 ids and one flag per id");
        }
        if (teacher != null) {
            int trained = 0;
            for (int i = 1; i < targetMask.length; i++) {
                trained += targetMask[i] ? 1 : 0;
            }
            if (teacher.ids().length != trained * teacher.k() || teacher.logProbs().length != teacher.ids().length) {
                throw new IllegalArgumentException("teacher top-" + teacher.k() + " arrays of " + teacher.ids().length
                        + " ids and " + teacher.logProbs().length + " log-probs do not cover " + trained
                        + " trained positions");
            }
        }
    }

    /** A row without teacher annotations. */
    public PackedSequence(int[] ids, boolean[] targetMask, int examples) {
        this(ids, targetMask, examples, null);
    }

    /**
     * A teacher's k most likely next tokens and their log-probabilities at each trained position of a row
     * (positions t with targetMask[t + 1], in order): entries [j * k, (j + 1) * k) belong to the j-th.
     *
     * @param k tokens per position
     * @param ids [trained * k] token ids
     * @param logProbs [trained * k] their log-probabilities (at the distillation temperature)
     */
    public record TeacherTopK(int k, int[] ids, float[] logProbs) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** This row with {@code topK} attached. */
    public PackedSequence withTeacher(TeacherTopK topK) {
        return new PackedSequence(ids, targetMask, examples, topK);
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
