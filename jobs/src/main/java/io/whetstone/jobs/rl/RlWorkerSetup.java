package io.whetstone.jobs.rl;

import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.RlConfig;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.optim.AdamWConfig;
import java.io.Serializable;
import java.util.List;

/**
 * What an RL task needs besides the broadcast parameters and its rows.
 *
 * @param model the policy's shape
 * @param engine precision, kernels and threads of a task
 * @param algorithm the algorithm's settings
 * @param rollout sampling settings
 * @param tokenizer the policy's tokenizer
 * @param rewards the reward components
 * @param rewardTimeoutMs time limit of a reward call (0: none)
 * @param klCoef the KL coefficient in force (PPO's adapts); the reference pass always runs, for the KL metric
 * @param optimizer {@code adamw} or {@code sgd} (local steps of averaging mode)
 * @param adamw optimiser settings
 * @param poolId the id of the reference's broadcast: keys this job's models in executor pools
 */
public record RlWorkerSetup(ModelConfig model, EngineOptions engine, RlConfig.Algorithm algorithm,
                            RlConfig.Rollout rollout, Tokenizer tokenizer, List<RewardScorer.Component> rewards,
                            long rewardTimeoutMs, double klCoef, String optimizer, AdamWConfig adamw, long poolId)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * Whether the rollouts' old log-probs and entropies are the sampler's own ({@code rollout.old_logprobs: auto}
     * where the sampler draws from the trained distribution and no value head needs the policy's pass).
     */
    public boolean oldLogProbsFromSampler() {
        return rollout.oldLogprobs().equals("auto") && rollout.samplesTrainedDistribution() && !valueHead();
    }

    /** Whether the policy carries PPO's value head. */
    public boolean valueHead() {
        return algorithm.ppo();
    }

    /** The pool key of the rollouts' copy of the policy (with PPO's value head), whose parameters each task loads. */
    ModelPool.Key policyKey() {
        // the policy samples and scores in full precision whatever frozen models keep
        return new ModelPool.Key(ModelPool.Role.POLICY, model, engine.withFrozenStorage(engine.dataType()), valueHead(),
                poolId);
    }

    /** The pool key of the frozen reference, its weights broadcast {@code poolId}. */
    ModelPool.Key referenceKey() {
        return ModelPool.Key.frozen(ModelPool.Role.REFERENCE, model, engine, poolId);
    }
}
