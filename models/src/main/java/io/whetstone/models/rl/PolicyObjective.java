package io.whetstone.models.rl;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.objectives.ObjectiveResult;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The RL update as an objective: on rollout batches, the clipped policy loss (with its KL term) and, with a
 * value head on the final hidden states, valueCoef times PPO's value loss; on replayed SFT batches,
 * replayCoef times their cross-entropy. What the rows carry (old and reference log-probs, advantages, value
 * targets) comes from a {@link Source} the caller fills before each step.
 *
 * <p>Normalisation. The three terms have their own normalisers over the minibatch: the policy's counted tokens
 * or sequences, the value loss's counted tokens, the replayed tokens. The objective contract has one
 * normaliser, the batch's counted tokens ({@link #defaultNormalizer}: policy and replayed tokens alike), so
 * each term is divided by {@code normalizer} times its normaliser's share of the minibatch's counted tokens
 * ({@link Normalizers}). On one worker ({@code normalizer} = the step's counted tokens) that is each term's
 * own normaliser; summed unnormalised over partitions ({@code normalizer} = 1) and divided by the summed
 * counted tokens, it is the same. Metric sums are the terms before dividing by {@code normalizer}, so a
 * reader divides them by the round's normaliser like the loss.
 */
public final class PolicyObjective implements Objective {

    /** Metric names: the terms' loss sums and the policy's diagnostics. */
    public static final String POLICY_LOSS = "policy_loss_sum";
    public static final String VALUE_LOSS = "value_loss_sum";
    public static final String REPLAY_LOSS = "replay_loss_sum";
    public static final String KL = "kl_sum";
    public static final String CLIPPED = "clipped_tokens";
    public static final String POLICY_TOKENS = "policy_tokens";
    public static final String RATIOS = "ratio_sum";
    public static final String VALUE_CLIPPED = "value_clipped_tokens";

    /**
     * The normalisers of one minibatch (all partitions in gradient mode, one worker's step otherwise).
     *
     * @param policy counted policy tokens (token normalisation) or sequences (sequence normalisation)
     * @param value counted policy tokens (the value loss is a token mean)
     * @param replay counted replayed tokens
     * @param counted every counted token, policy and replayed: the sum of {@link #defaultNormalizer}
     */
    public record Normalizers(double policy, double value, double replay, double counted)
            implements java.io.Serializable {
        public Normalizers {
            if (!(counted > 0)) {
                throw new IllegalArgumentException("a minibatch needs counted tokens: " + counted);
            }
        }
    }

    /** What the rows of one batch carry besides their tokens. */
    public record Targets(PolicyBatch policy, ValueTargets values, boolean replay) {

        /** Rollout rows (values null without a value head). */
        public static Targets rollouts(PolicyBatch policy, ValueTargets values) {
            return new Targets(policy, values, false);
        }

        /** Replayed SFT rows. */
        public static Targets replayed() {
            return new Targets(null, null, true);
        }
    }

    /** The current step's targets and normalisers, set by the caller before the step. */
    public interface Source {

        /** The targets of {@code batch} (one of the step's batches). */
        Targets targets(TokenBatch batch);

        /** The normalisers of the step's minibatch. */
        Normalizers normalizers();
    }

    private final ClippedPolicyLoss policyLoss;
    private final ValueHead valueHead; // null for GRPO
    private final ValueLoss valueLoss; // null for GRPO
    private final double valueCoef;
    private final double replayCoef;
    private final Source source;

    public PolicyObjective(ClippedPolicyLoss policyLoss, ValueHead valueHead, ValueLoss valueLoss, double valueCoef,
                           double replayCoef, Source source) {
        if ((valueHead == null) != (valueLoss == null)) {
            throw new IllegalArgumentException("a value head needs a value loss and the other way round");
        }
        if (valueHead != null && !(valueCoef > 0)) {
            throw new IllegalArgumentException("the value loss coefficient must be > 0 with a value head: " + valueCoef);
        }
        this.policyLoss = policyLoss;
        this.valueHead = valueHead;
        this.valueLoss = valueLoss;
        this.valueCoef = valueCoef;
        this.replayCoef = replayCoef;
        this.source = source;
    }

    @Override
    public ObjectiveResult evaluate(ForwardPass pass, TokenBatch batch, double normalizer) {
        Targets targets = source.targets(batch);
        Normalizers norms = source.normalizers();
        double scale = normalizer / norms.counted(); // this call's normaliser per counted token of the minibatch
        Map<String, Double> metrics = new TreeMap<>();
        if (targets.replay()) {
            if (!(replayCoef > 0)) {
                throw new IllegalStateException("replayed rows reached an update whose replay coefficient is "
                        + replayCoef);
            }
            // replayCoef * CE / replayed tokens = CE / (replayed tokens / replayCoef)
            ObjectiveResult ce = new MaskedCrossEntropy().evaluate(pass, batch, norms.replay() * scale / replayCoef);
            metrics.put(REPLAY_LOSS, ce.loss() / replayCoef * normalizer);
            return new ObjectiveResult(ce.loss(), ce.dLogProbs(), ce.dLogits(), null, metrics);
        }
        double[] logProbs = pass.logProbs().reshape(batch.size()).toDoubleVector(); // [B*T]
        ClippedPolicyLoss.Result policy = policyLoss.evaluate(logProbs, targets.policy(), norms.policy() * scale);
        INDArray dLogProbs = Nd4j.createFromArray(policy.dLogProbs()).castTo(pass.logProbs().dataType())
                .reshape(batch.batch(), batch.seqLen()); // [B, T]
        double loss = policy.loss();
        INDArray dHidden = null;
        if (valueHead != null) {
            double[] values = valueHead.forward(pass.hidden()); // [B*T]
            ValueLoss.Result value = valueLoss.evaluate(values, targets.values().oldValues(),
                    targets.values().returns(), batch.lossMask(), norms.value() * scale / valueCoef);
            loss += value.loss();
            dHidden = valueHead.backward(pass.hidden(), value.dValues()); // [N, C]
            metrics.put(VALUE_LOSS, value.loss() / valueCoef * normalizer);
            metrics.put(VALUE_CLIPPED, value.clippedTokens());
        }
        metrics.put(POLICY_LOSS, policy.loss() * normalizer);
        metrics.put(KL, policy.klSum());
        metrics.put(CLIPPED, policy.clippedTokens());
        metrics.put(POLICY_TOKENS, policy.tokens());
        metrics.put(RATIOS, policy.ratioSum());
        return new ObjectiveResult(loss, dLogProbs, null, dHidden, metrics);
    }

    /** Counted tokens: the completion tokens of rollout rows, the trained tokens of replayed rows. */
    @Override
    public double defaultNormalizer(TokenBatch batch) {
        return batch.maskedTokens();
    }
}
