package io.whetstone.jobs.engine;

import io.whetstone.models.distill.DistillLoss;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.lora.LoraLayout;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.preference.KtoSettings;
import io.whetstone.models.preference.PreferenceSettings;
import io.whetstone.models.rl.ClippedPolicyLoss;
import io.whetstone.models.rl.ValueHead;
import java.io.Serializable;

/**
 * Everything a partition needs besides the broadcast state and its shard: model shape, engine
 * settings, optimiser, schedule and batching. Immutable and shipped with every task.
 *
 * @param model the model's shape
 * @param engine precision, kernels and threads of each task
 * @param optimizer {@code adamw} or {@code sgd}
 * @param adamw optimiser settings (betas and eps unused by SGD)
 * @param schedule learning-rate schedule over optimiser steps
 * @param batchSize rows per local step
 * @param localSteps local steps per round (1 in gradient mode)
 * @param seed seeds the data order, with round and partition
 * @param lora adapters to train on a frozen base, or null to train the whole model
 * @param baseId identifies the frozen base's broadcast (so pooled models never mix bases of two jobs); 0 without adapters
 * @param teacher logit distillation from a teacher model (its parameters broadcast once), or null for plain SFT
 * @param preference a preference loss on preference units (pairs or labelled completions), or null
 * @param policy the RL policy update on rollout rows (GRPO, PPO with its value head), or null
 */
public record WorkerSetup(ModelConfig model, EngineOptions engine, String optimizer, AdamWConfig adamw,
                          LrSchedule schedule, int batchSize, int localSteps, long seed, LoraConfig lora, long baseId,
                          TeacherSetup teacher, PreferenceSetup preference, PolicySetup policy)
        implements Serializable {

    private static final long serialVersionUID = 5L;

    public WorkerSetup {
        int objectives = (teacher == null ? 0 : 1) + (preference == null ? 0 : 1) + (policy == null ? 0 : 1);
        if (objectives > 1) {
            throw new IllegalArgumentException("a setup trains with a teacher, on preferences or on rollouts: one of "
                    + "them at most");
        }
        if (policy != null && policy.valueHead() && lora != null) {
            throw new IllegalArgumentException("PPO's value head trains with the whole model, not with LoRA adapters");
        }
    }

    /** With a teacher or preferences (or neither), no RL policy update. */
    public WorkerSetup(ModelConfig model, EngineOptions engine, String optimizer, AdamWConfig adamw, LrSchedule schedule,
                       int batchSize, int localSteps, long seed, LoraConfig lora, long baseId, TeacherSetup teacher,
                       PreferenceSetup preference) {
        this(model, engine, optimizer, adamw, schedule, batchSize, localSteps, seed, lora, baseId, teacher, preference,
                null);
    }

    /** With a teacher (or none), no preferences. */
    public WorkerSetup(ModelConfig model, EngineOptions engine, String optimizer, AdamWConfig adamw, LrSchedule schedule,
                       int batchSize, int localSteps, long seed, LoraConfig lora, long baseId, TeacherSetup teacher) {
        this(model, engine, optimizer, adamw, schedule, batchSize, localSteps, seed, lora, baseId, teacher, null, null);
    }

    /** Without a teacher. */
    public WorkerSetup(ModelConfig model, EngineOptions engine, String optimizer, AdamWConfig adamw, LrSchedule schedule,
                       int batchSize, int localSteps, long seed, LoraConfig lora, long baseId) {
        this(model, engine, optimizer, adamw, schedule, batchSize, localSteps, seed, lora, baseId, null, null, null);
    }

    /**
     * A teacher the objective distils from: its shape, the divergence, the weight of the data's
     * cross-entropy, the id of the broadcast holding its parameters (so pooled teachers never mix jobs),
     * k when the rows carry the teacher's precomputed top-k instead (0: the teacher runs on every batch), the
     * fraction of steps that train on the student's own samples (GKD), and the end-of-sequence id that stops them.
     */
    public record TeacherSetup(ModelConfig model, DistillLoss loss, double ceWeight, long broadcastId, int topK,
                               double onPolicyFraction, int eosId) implements Serializable {
        private static final long serialVersionUID = 3L;

        /** Whether the teacher's parameters are broadcast and the teacher runs on the executors. */
        public boolean runsTeacher() {
            return topK == 0;
        }
    }

    /**
     * A preference loss: pairwise ({@code pairwise} set) on paired units, KTO ({@code kto} set) on labelled
     * completions, or a reward model's Bradley-Terry loss ({@code rewardToken} >= 0: the score head's token) on
     * paired units; the reference model's log-probs and the pairs' margins travel with the units.
     */
    public record PreferenceSetup(PreferenceSettings pairwise, KtoSettings kto, int rewardToken, int stepToken)
            implements Serializable {
        private static final long serialVersionUID = 3L;

        public PreferenceSetup {
            int set = (pairwise == null ? 0 : 1) + (kto == null ? 0 : 1) + (rewardToken < 0 ? 0 : 1)
                    + (stepToken < 0 ? 0 : 1);
            if (set != 1) {
                throw new IllegalArgumentException("a preference setup has one of a pairwise loss, KTO settings, a "
                        + "reward model's score token or a process reward model's");
            }
        }

        public static PreferenceSetup pairwise(PreferenceSettings settings) {
            return new PreferenceSetup(settings, null, -1, -1);
        }

        public static PreferenceSetup kto(KtoSettings settings) {
            return new PreferenceSetup(null, settings, -1, -1);
        }

        /** A reward model whose score head is the LM head's row of {@code scoreToken}. */
        public static PreferenceSetup rewardModel(int scoreToken) {
            return new PreferenceSetup(null, null, scoreToken, -1);
        }

        /** A process reward model scoring each step's last token with the LM head's row of {@code scoreToken}. */
        public static PreferenceSetup processReward(int scoreToken) {
            return new PreferenceSetup(null, null, -1, scoreToken);
        }

        /** Whether the units are pairs (every loss but KTO and the process reward model's). */
        public boolean paired() {
            return kto == null && stepToken < 0;
        }

        /** Whether the loss reads the reference's log-probs. */
        public boolean usesReference() {
            return kto != null || (pairwise != null && pairwise.loss().usesReference());
        }
    }

    /**
     * The RL policy update: the clipped policy loss (clip range, KL coefficient in the loss, normalisation, dual
     * clip, token or sequence ratio), PPO's value head and loss, the replayed SFT rows' weight, and the sampling
     * temperature the log-probs are scored at.
     */
    public record PolicySetup(double clipLow, double clipHigh, double klCoef,
                              ClippedPolicyLoss.Normalization normalization, double dualClip,
                              ClippedPolicyLoss.Ratio ratio, boolean valueHead,
                              double valueClip,
                              double valueCoef, double replayCoef, double temperature) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** The heads on the final hidden states that train with the model (PPO's value head), or null. */
    public ParameterLayout heads() {
        return policy != null && policy.valueHead() ? ValueHead.layout(model.width()) : null;
    }

    /** The layout of what trains: the adapters with LoRA, the whole model (and its heads) otherwise. */
    public ParameterLayout trainableLayout() {
        if (lora != null) {
            return new LoraLayout(model, lora).layout();
        }
        return heads() == null ? ParameterLayout.of(model) : ParameterLayout.concat(ParameterLayout.of(model), heads());
    }
}
