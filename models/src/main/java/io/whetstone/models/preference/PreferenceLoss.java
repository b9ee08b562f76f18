package io.whetstone.models.preference;

import java.util.Locale;

/**
 * The pairwise preference losses, each a function of the chosen and rejected completions' log-probs
 * under the policy (and the frozen reference where the loss has one), as TRL defines them. Inputs are
 * sequence sums, or per-token means where {@link #lengthNormalized()} is true.
 */
public enum PreferenceLoss {
    /**
     * DPO: -(1 - e) log sigmoid(beta h) - e log sigmoid(-beta h), h = (pi_c - pi_r) - (ref_c - ref_r) over
     * summed log-probs; e is the label smoothing (0: the original DPO; above 0: conservative DPO).
     */
    SIGMOID(true, false) {
        @Override
        Term term(PreferenceSettings s, double chosen, double rejected, double refChosen, double refRejected) {
            double h = (chosen - rejected) - (refChosen - refRejected);
            double z = s.beta() * h;
            double loss = -(1 - s.labelSmoothing()) * Logistic.logSigmoid(z)
                    - s.labelSmoothing() * Logistic.logSigmoid(-z);
            double dz = Logistic.sigmoid(z) - (1 - s.labelSmoothing());
            return new Term(loss, s.beta() * dz, -s.beta() * dz, s.beta() * (chosen - refChosen),
                    s.beta() * (rejected - refRejected));
        }
    },
    /**
     * DPO-Positive (Pal et al., 2024, "Smaug"): -log sigmoid(beta (h - lambda max(0, ref_c - pi_c))) over summed
     * log-probs: DPO that also penalises the chosen completion's log-prob falling below the reference's, for
     * pairs that differ in a few tokens, where plain DPO lowers both.
     */
    DPOP(true, false) {
        @Override
        Term term(PreferenceSettings s, double chosen, double rejected, double refChosen, double refRejected) {
            double drop = refChosen - chosen;
            double penalty = drop > 0 ? s.dpopLambda() * drop : 0;
            double z = s.beta() * ((chosen - rejected) - (refChosen - refRejected) - penalty);
            double dz = Logistic.sigmoid(z) - 1; // d(-log sigmoid z) / dz
            // dz/dchosen = beta (1 + lambda) while the chosen log-prob is below the reference's, beta above
            double dChosen = s.beta() * dz * (1 + (drop > 0 ? s.dpopLambda() : 0));
            return new Term(-Logistic.logSigmoid(z), dChosen, -s.beta() * dz, s.beta() * (chosen - refChosen),
                    s.beta() * (rejected - refRejected));
        }
    },
    /** IPO: (h - 1 / (2 beta))^2 with h as DPO's but over per-token mean log-probs (as TRL computes it). */
    IPO(true, true) {
        @Override
        Term term(PreferenceSettings s, double chosen, double rejected, double refChosen, double refRejected) {
            double h = (chosen - rejected) - (refChosen - refRejected);
            double gap = h - 1 / (2 * s.beta());
            return new Term(gap * gap, 2 * gap, -2 * gap, s.beta() * (chosen - refChosen),
                    s.beta() * (rejected - refRejected));
        }
    },
    /**
     * SimPO (reference-free): -(1 - e) log sigmoid(z) - e log sigmoid(-z), z = beta (c - r) - gamma over
     * per-token mean log-probs, gamma the target margin.
     */
    SIMPO(false, true) {
        @Override
        Term term(PreferenceSettings s, double chosen, double rejected, double refChosen, double refRejected) {
            double z = s.beta() * (chosen - rejected) - s.simpoGamma();
            double loss = -(1 - s.labelSmoothing()) * Logistic.logSigmoid(z)
                    - s.labelSmoothing() * Logistic.logSigmoid(-z);
            double dz = Logistic.sigmoid(z) - (1 - s.labelSmoothing());
            return new Term(loss, s.beta() * dz, -s.beta() * dz, s.beta() * chosen, s.beta() * rejected);
        }
    },
    /**
     * ORPO (reference-free): -beta log sigmoid(log odds(c) - log odds(r)), log odds(p) = p - log(1 - e^p)
     * over per-token mean log-probs, plus the chosen completion's negative log-likelihood (the SFT term
     * ORPO is built on; {@code sft_weight} adds to it).
     */
    ORPO(false, true) {
        @Override
        Term term(PreferenceSettings s, double chosen, double rejected, double refChosen, double refRejected) {
            double c = Math.min(chosen, -1e-12); // a mean log-prob of exactly 0 has infinite odds
            double r = Math.min(rejected, -1e-12);
            double logOdds = (c - r) - (Math.log(-Math.expm1(c)) - Math.log(-Math.expm1(r)));
            double dLogOdds = -s.beta() * (1 - Logistic.sigmoid(logOdds));
            // d logOdds / dc = 1 / (1 - e^c) = -1 / expm1(c); the NLL term -c adds -1 to dc
            double dChosen = dLogOdds * (-1 / Math.expm1(c)) - 1;
            double dRejected = dLogOdds * (1 / Math.expm1(r));
            return new Term(-s.beta() * Logistic.logSigmoid(logOdds) - c, dChosen, dRejected, s.beta() * c,
                    s.beta() * r);
        }
    };

    private final boolean usesReference;
    private final boolean lengthNormalized;

    PreferenceLoss(boolean usesReference, boolean lengthNormalized) {
        this.usesReference = usesReference;
        this.lengthNormalized = lengthNormalized;
    }

    /** Whether the loss needs the frozen reference model's log-probs. */
    public boolean usesReference() {
        return usesReference;
    }

    /** Whether the loss reads per-token mean log-probs instead of sequence sums. */
    public boolean lengthNormalized() {
        return lengthNormalized;
    }

    /**
     * One pair's loss, its derivatives with respect to the policy's chosen and rejected inputs, and the
     * implicit rewards TRL logs for it.
     */
    record Term(double loss, double dChosen, double dRejected, double chosenReward, double rejectedReward) {
    }

    abstract Term term(PreferenceSettings settings, double chosen, double rejected, double refChosen,
                       double refRejected);

    /** {@code sigmoid}, {@code ipo}, {@code simpo} or {@code orpo} (case and dashes ignored). */
    public static PreferenceLoss parse(String name) {
        String key = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (PreferenceLoss loss : values()) {
            if (loss.name().equals(key)) {
                return loss;
            }
        }
        throw new IllegalArgumentException("unknown preference loss '" + name
                + "' (expected sigmoid, dpop, ipo, simpo or orpo; kto reads unpaired data and has its own job settings)");
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
