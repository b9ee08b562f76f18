package io.whetstone.datasets.pack;

import java.io.Serializable;

/**
 * One unit of preference training, never split across batches or partitions: a pair (the chosen and the
 * rejected completion of one prompt, each its own padded row with the loss mask on the completion), or, for
 * unpaired data, one labelled completion ({@code rejected} null). The frozen reference model's summed
 * log-probs of each row travel with it once computed (NaN before).
 *
 * @param chosen the chosen completion's row (the labelled completion for unpaired data)
 * @param rejected the rejected completion's row, or null for unpaired data
 * @param desirable unpaired data's label (true for pairs)
 * @param margin a pair's preference margin (0 if not given)
 * @param refChosen the reference model's summed log-prob of {@code chosen}'s trained tokens, or NaN
 * @param refRejected the same for {@code rejected}, or NaN
 */
public record PreferenceRow(PackedSequence chosen, PackedSequence rejected, boolean desirable, double margin,
                            double refChosen, double refRejected) implements Serializable {

    private static final long serialVersionUID = 1L;

    public PreferenceRow {
        if (rejected != null && rejected.seqLen() != chosen.seqLen()) {
            throw new IllegalArgumentException("a pair's rows differ in length: " + chosen.seqLen() + " and "
                    + rejected.seqLen());
        }
    }

    /** A pair without reference log-probs. */
    public static PreferenceRow pair(PackedSequence chosen, PackedSequence rejected, double margin) {
        return new PreferenceRow(chosen, rejected, true, margin, Double.NaN, Double.NaN);
    }

    /** A labelled completion without a reference log-prob. */
    public static PreferenceRow unpaired(PackedSequence completion, boolean desirable) {
        return new PreferenceRow(completion, null, desirable, 0, Double.NaN, Double.NaN);
    }

    public boolean paired() {
        return rejected != null;
    }

    /** Whether the reference's log-probs are attached. */
    public boolean hasReference() {
        return !Double.isNaN(refChosen) && (rejected == null || !Double.isNaN(refRejected));
    }

    /** This row with the reference's summed log-probs attached. */
    public PreferenceRow withReference(double chosenLogProb, double rejectedLogProb) {
        return new PreferenceRow(chosen, rejected, desirable, margin, chosenLogProb,
                rejected == null ? Double.NaN : rejectedLogProb);
    }

    /** Tokens the loss counts over the unit's rows. */
    public int trainableTokens() {
        return chosen.trainableTokens() + (rejected == null ? 0 : rejected.trainableTokens());
    }
}
