package io.whetstone.models.rl;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.objectives.ObjectiveResult;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The gradient work of one micro-batch of an RL update: a forward pass of the policy, the clipped policy
 * loss (with its KL term), PPO's value loss through the value head when there is one, and the backward,
 * accumulating (+=) into the policy's and the head's gradients. Also the cross-entropy of replayed SFT
 * rows. Losses are divided by normalisers the caller computes over the whole minibatch (all partitions),
 * so summing the gradients of the partitions gives the minibatch's gradient.
 */
public final class PolicyUpdate {

    private final Transformer model;
    private final ValueHead valueHead; // null for GRPO
    private final ClippedPolicyLoss policyLoss;
    private final ValueLoss valueLoss; // null for GRPO
    private final double valueCoef;

    public PolicyUpdate(Transformer model, ClippedPolicyLoss policyLoss, ValueHead valueHead, ValueLoss valueLoss,
                        double valueCoef) {
        if ((valueHead == null) != (valueLoss == null)) {
            throw new IllegalArgumentException("a value head needs a value loss and the other way round");
        }
        if (valueHead != null && !(valueCoef > 0)) {
            throw new IllegalArgumentException("the value loss coefficient must be > 0 with a value head: " + valueCoef);
        }
        this.model = model;
        this.policyLoss = policyLoss;
        this.valueHead = valueHead;
        this.valueLoss = valueLoss;
        this.valueCoef = valueCoef;
    }

    /** Value targets of a PPO micro-batch: old values and returns per position [B*T]. */
    public record ValueTargets(double[] oldValues, double[] returns) {
    }

    /** What one micro-batch contributed (sums, for logging). */
    public record Stats(double policyLoss, double valueLoss, double klSum, double clippedTokens, double tokens,
                        double ratioSum, double valueClipped) {

        public static final Stats ZERO = new Stats(0, 0, 0, 0, 0, 0, 0);

        public Stats plus(Stats other) {
            return new Stats(policyLoss + other.policyLoss, valueLoss + other.valueLoss, klSum + other.klSum,
                    clippedTokens + other.clippedTokens, tokens + other.tokens, ratioSum + other.ratioSum,
                    valueClipped + other.valueClipped);
        }
    }

    /**
     * Accumulates the gradient of the policy loss over {@code batch} ({@code normalizer}: the minibatch's
     * counted tokens or sequences) and, with a value head, of valueCoef times the value loss
     * ({@code valueNormalizer}: the minibatch's counted tokens).
     */
    public Stats accumulate(PolicyBatch batch, double normalizer, ValueTargets targets, double valueNormalizer) {
        TokenBatch tokens = batch.tokens();
        ForwardPass pass = model.forward(tokens.tokens(), tokens.targets(), tokens.batch(), tokens.seqLen());
        double[] logProbs = pass.logProbs().reshape(tokens.size()).toDoubleVector(); // [B*T]
        ClippedPolicyLoss.Result policy = policyLoss.evaluate(logProbs, batch, normalizer);
        INDArray dLogProbs = Nd4j.createFromArray(policy.dLogProbs()).castTo(pass.logProbs().dataType())
                .reshape(tokens.batch(), tokens.seqLen());
        INDArray dHidden = null;
        double value = 0;
        double valueClipped = 0;
        if (valueHead != null) {
            INDArray hidden = model.finalHidden();
            double[] values = valueHead.forward(hidden); // [B*T]
            ValueLoss.Result result = valueLoss.evaluate(values, targets.oldValues(), targets.returns(),
                    tokens.lossMask(), valueNormalizer / valueCoef);
            value = result.loss() / valueCoef;
            valueClipped = result.clippedTokens();
            dHidden = valueHead.backward(hidden, result.dValues());
        }
        model.backward(dLogProbs, null, dHidden);
        return new Stats(policy.loss(), value, policy.klSum(), policy.clippedTokens(), policy.tokens(),
                policy.ratioSum(), valueClipped);
    }

    /**
     * Accumulates the gradient of replayed SFT rows' cross-entropy, weighted by {@code coef} and divided by
     * {@code normalizer} (the replayed tokens of the minibatch); returns the unweighted loss contribution.
     */
    public double accumulateReplay(TokenBatch batch, double coef, double normalizer) {
        ForwardPass pass = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
        ObjectiveResult result = new MaskedCrossEntropy().evaluate(pass, batch, normalizer / coef);
        model.backward(result.dLogProbs(), result.dLogits());
        return result.loss() / coef;
    }
}
