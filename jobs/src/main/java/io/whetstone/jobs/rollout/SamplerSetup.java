package io.whetstone.jobs.rollout;

import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import java.io.Serializable;
import java.util.List;

/**
 * What a sampling task needs besides the broadcast weights and its prompts.
 *
 * @param model the policy's shape
 * @param engine precision, kernels and threads of a task
 * @param tokenizer the policy's tokenizer
 * @param sampling how completions are drawn
 * @param rewards the scoring components (a verifier, a reward model, ...)
 * @param rewardTimeoutMs time limit of a reward call (0: none)
 * @param weightsId the id of the broadcast holding the policy's weights (keys the executors' model pool)
 */
public record SamplerSetup(ModelConfig model, EngineOptions engine, Tokenizer tokenizer, SamplingSpec sampling,
                           List<RewardScorer.Component> rewards, long rewardTimeoutMs, long weightsId)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    /** The pool key of the sampling policy on the executors. */
    public ModelPool.Key poolKey() {
        return ModelPool.Key.frozen(ModelPool.Role.SAMPLER, model, engine, weightsId);
    }
}
