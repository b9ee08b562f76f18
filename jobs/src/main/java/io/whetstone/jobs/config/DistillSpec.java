package io.whetstone.jobs.config;

import io.whetstone.models.distill.Divergence;
import io.whetstone.models.distill.DistillLoss;

/**
 * Logit distillation in the SFT job: with a {@code teacher} (checkpoint, model directory or GGUF on any
 * Hadoop path; "" = plain SFT), every step's loss is (1 - ce_weight) times the mean divergence of the
 * teacher's and the student's next-token distributions at {@code temperature} plus ce_weight times the
 * data's cross-entropy, over the trained (masked) positions. The teacher must use the student's tokenizer.
 * With {@code top_k} > 0 the teacher's top-k log-probabilities are computed once per corpus (cached) and
 * the divergence is taken on that support plus a bucket for the rest of the vocabulary. With
 * {@code on_policy_fraction} > 0 that fraction of the steps trains on the student's own continuations of the
 * batch's prompts, scored by the teacher (GKD), with the divergence alone.
 */
public record DistillSpec(String teacher, String divergence, double beta, double temperature, double ceWeight,
                          int topK, double onPolicyFraction) {

    public DistillSpec {
        teacher = teacher == null ? "" : teacher.trim();
        Checks.require(temperature > 0, "distill.temperature must be > 0, got " + temperature);
        Checks.require(ceWeight >= 0 && ceWeight <= 1, "distill.ce_weight must be in [0, 1], got " + ceWeight);
        Checks.require(topK >= 0, "distill.top_k must be >= 0 (0: the teacher runs on every batch), got " + topK);
        Checks.require(onPolicyFraction >= 0 && onPolicyFraction <= 1, "distill.on_policy_fraction must be in [0, 1], "
                + "got " + onPolicyFraction);
        Checks.require(onPolicyFraction == 0 || topK == 0, "distill.on_policy_fraction needs the teacher to score the "
                + "student's samples, so distill.top_k must be 0, got " + topK);
        try {
            loss(Divergence.parse(divergence), beta, temperature);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("distill: " + e.getMessage());
        }
    }

    /** Whether a teacher is set. */
    public boolean enabled() {
        return !teacher.isEmpty();
    }

    /** The divergence these settings describe. */
    public DistillLoss loss() {
        return loss(Divergence.parse(divergence), beta, temperature);
    }

    private static DistillLoss loss(Divergence divergence, double beta, double temperature) {
        return new DistillLoss(divergence, divergence == Divergence.JSD ? beta : 0, temperature);
    }
}
