package io.whetstone.models.rl;

import java.util.Locale;

/**
 * The clipped surrogate of GRPO, DAPO and PPO, with an optional k3 KL penalty to a reference:
 * per counted token, with r = exp(logp - oldLogp),
 *   loss_t = -min(r A, clip(r, 1 - clipLow, 1 + clipHigh) A) + beta * (exp(ref - logp) - (ref - logp) - 1),
 * averaged over tokens (token-level: divide by the normaliser, e.g. the minibatch's token count) or over
 * sequences (sequence-level: each row's mean over its tokens, divided by the normaliser, e.g. the
 * minibatch's sequence count). clipLow = clipHigh is PPO's and GRPO's symmetric clip; clipHigh > clipLow
 * is DAPO's clip-higher. With a dual clip c > 1 (Ye et al. 2020, veRL's clip_ratio_c), a token with A < 0
 * loses at most -c A: its policy term is min(-c A, -min(r A, clip(r) A)), which bounds the push on a token whose
 * ratio has grown far past the clip. With {@link Ratio#SEQUENCE} (GSPO, Zheng et al. 2025; TRL's
 * importance_sampling_level "sequence") every token of a row uses the row's ratio exp(mean_t(logp - old)) over its
 * counted tokens, so the gradient of each token's term reaches every token of the row through that mean. Written as
 * plain double loops: it is its own reference.
 */
public final class ClippedPolicyLoss {

    /** How token losses are averaged. */
    public enum Normalization {
        /** Every counted token of the minibatch weighs the same (DAPO, Dr. GRPO). */
        TOKEN,
        /** Each sequence's tokens are averaged first, then sequences weigh the same (original GRPO). */
        SEQUENCE;

        public static Normalization parse(String name) {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        }
    }

    private final double clipLow;
    private final double clipHigh;
    private final double klCoef;
    private final Normalization normalization;
    private final double dualClip;
    private final Ratio ratioLevel;

    /** Whose importance ratio a token's clipped term uses. */
    public enum Ratio {
        /** Its own: exp(logp_t - old_t) (PPO, GRPO, DAPO). */
        TOKEN,
        /** Its sequence's: exp of the mean of logp - old over the row's counted tokens (GSPO). */
        SEQUENCE;

        public static Ratio parse(String name) {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        }
    }

    public ClippedPolicyLoss(double clipLow, double clipHigh, double klCoef, Normalization normalization) {
        this(clipLow, clipHigh, klCoef, normalization, 0);
    }

    /** As the other constructor, with the dual clip {@code dualClip} (> 1; 0: none). */
    public ClippedPolicyLoss(double clipLow, double clipHigh, double klCoef, Normalization normalization,
                             double dualClip) {
        this(clipLow, clipHigh, klCoef, normalization, dualClip, Ratio.TOKEN);
    }

    /** As the other constructors, with the importance ratio taken per token or per sequence. */
    public ClippedPolicyLoss(double clipLow, double clipHigh, double klCoef, Normalization normalization,
                             double dualClip, Ratio ratioLevel) {
        if (!(dualClip == 0 || dualClip > 1)) {
            throw new IllegalArgumentException("the dual clip must be > 1, or 0 for none: " + dualClip);
        }
        if (!(clipLow > 0 && clipLow < 1) || !(clipHigh > 0)) {
            throw new IllegalArgumentException("clip ranges must be in (0, 1) below and > 0 above: " + clipLow + ", "
                    + clipHigh);
        }
        if (!(klCoef >= 0)) {
            throw new IllegalArgumentException("the KL coefficient must be >= 0: " + klCoef);
        }
        this.clipLow = clipLow;
        this.clipHigh = clipHigh;
        this.klCoef = klCoef;
        this.normalization = normalization;
        this.dualClip = dualClip;
        this.ratioLevel = ratioLevel;
    }

    /** The loss of a batch and d loss / d logp per position, plus diagnostics. */
    public record Result(double loss, double[] dLogProbs, double klSum, double clippedTokens, double tokens,
                         double ratioSum) {
    }

    /**
     * Loss and gradient given the current log-probs {@code logProbs} [B*T] of the batch's targets. The
     * normaliser is the minibatch's counted tokens (TOKEN) or sequences (SEQUENCE), so that gradients
     * summed over partitions equal one partition's on the whole minibatch.
     */
    public Result evaluate(double[] logProbs, PolicyBatch batch, double normalizer) {
        if (!(normalizer > 0)) {
            throw new IllegalArgumentException("the normaliser must be > 0: " + normalizer);
        }
        int rows = batch.tokens().batch();
        int seqLen = batch.tokens().seqLen();
        float[] mask = batch.tokens().lossMask();
        double[] grad = new double[logProbs.length];
        double loss = 0;
        double kl = 0;
        double clipped = 0;
        double tokens = 0;
        double ratios = 0;
        for (int b = 0; b < rows; b++) {
            double rowTokens = 0;
            for (int t = 0; t < seqLen; t++) {
                rowTokens += mask[b * seqLen + t];
            }
            if (rowTokens == 0) {
                continue;
            }
            double weight = normalization == Normalization.TOKEN ? 1.0 / normalizer : 1.0 / (rowTokens * normalizer);
            double rowRatio = Double.NaN;
            if (ratioLevel == Ratio.SEQUENCE) {
                double logRatio = 0;
                for (int t = 0; t < seqLen; t++) {
                    int i = b * seqLen + t;
                    logRatio += mask[i] * (logProbs[i] - batch.oldLogProbs()[i]);
                }
                rowRatio = Math.exp(logRatio / rowTokens);
            }
            // SEQUENCE: d loss / d rowRatio's exponent, summed over the row's tokens, spread back below
            double dRowLogRatio = 0;
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                if (mask[i] == 0) {
                    continue;
                }
                double m = mask[i];
                double advantage = batch.advantages()[i];
                double ratio = ratioLevel == Ratio.SEQUENCE ? rowRatio : Math.exp(logProbs[i] - batch.oldLogProbs()[i]);
                double unclipped = ratio * advantage;
                double bounded = Math.max(1 - clipLow, Math.min(1 + clipHigh, ratio)) * advantage;
                double surrogate = Math.min(unclipped, bounded);
                // d(-min(...))/dlogp: the unclipped branch (ratio * A) when it is the minimum, else 0.
                double dToken = unclipped <= bounded ? -unclipped : 0;
                double tokenLoss = -surrogate;
                if (dualClip > 0 && advantage < 0 && -dualClip * advantage < tokenLoss) {
                    tokenLoss = -dualClip * advantage; // a constant: no gradient
                    dToken = 0;
                    clipped += m;
                } else if (unclipped > bounded) {
                    clipped += m;
                }
                if (ratioLevel == Ratio.SEQUENCE) {
                    dRowLogRatio += weight * m * dToken; // the policy term's gradient goes through the row's ratio
                    dToken = 0;
                }
                if (klCoef > 0 && batch.refLogProbs() != null) {
                    double delta = batch.refLogProbs()[i] - logProbs[i];
                    double k3 = Math.exp(delta) - delta - 1;
                    tokenLoss += klCoef * k3;
                    dToken += klCoef * (1 - Math.exp(delta));
                    kl += m * k3;
                }
                loss += weight * m * tokenLoss;
                grad[i] = weight * m * dToken;
                tokens += m;
                ratios += m * ratio;
            }
            if (ratioLevel == Ratio.SEQUENCE) {
                for (int t = 0; t < seqLen; t++) {
                    int i = b * seqLen + t;
                    grad[i] += dRowLogRatio * mask[i] / rowTokens; // d mean_t(logp - old) / d logp_i
                }
            }
        }
        return new Result(loss, grad, kl, clipped, tokens, ratios);
    }
}
