package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The configuration of the online RL jobs ({@code grpo}, {@code ppo}); see {@code conf/grpo.yaml} and
 * {@code conf/ppo.yaml} for every key with its meaning.
 */
public record RlConfig(RunSpec run, Model model, Data data, Algorithm algorithm, Rollout rollout, Rewards rewards,
                       Train train, Guards guards, Replay replay, Eval eval, SparkSpec spark,
                       CheckpointSpec checkpoint, DebugSpec debug) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/rl-defaults.yaml";

    public RlConfig {
        Checks.require(run != null && model != null && data != null && algorithm != null && rollout != null
                && rewards != null && train != null && guards != null && replay != null && eval != null
                && spark != null && checkpoint != null && debug != null, "every section of the RL config must be set");
        Checks.require(!algorithm.name().equals("ppo") || !algorithm.advantage().equals("rloo"),
                "algorithm.advantage rloo is a GRPO option; PPO uses GAE");
        Checks.require(algorithm.advantage().equals("rloo") || algorithm.name().equals("ppo")
                        || rollout.groupSize() >= 2,
                "GRPO compares samples of a prompt: rollout.group_size must be >= 2, got " + rollout.groupSize());
    }

    /** Defaults, then {@code file} (may be null), then {@code overrides}. */
    public static RlConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(RlConfig.class, DEFAULTS, file, overrides);
    }

    /**
     * The policy to train ({@code init}: a checkpoint or model directory, or a .gguf file), the frozen
     * reference of the KL term ({@code reference}; empty: the initial policy), the kernels, and how frozen models
     * (the reference, reward models) keep their weight matrices: {@code float32}, {@code bfloat16} or {@code float16}.
     */
    public record Model(String init, String reference, String kernels, String frozenDtype) {

        /** With frozen models in float32. */
        public Model(String init, String reference, String kernels) {
            this(init, reference, kernels, "float32");
        }

        /** The ND4J type frozen models keep their weight matrices in. */
        public org.nd4j.linalg.api.buffer.DataType frozenStorage() {
            return io.whetstone.models.engine.FrozenDtype.parse(frozenDtype);
        }

        public Model {
            frozenDtype = Checks.oneOf("model.frozen_dtype", frozenDtype == null ? "float32" : frozenDtype,
                    Set.of("float32", "bfloat16", "float16"));
            Checks.require(init != null && !init.isBlank(), "model.init must name the policy to start from "
                    + "(a checkpoint or model directory, or a .gguf file)");
            reference = reference == null ? "" : reference;
            kernels = Checks.oneOf("model.kernels", kernels, Set.of("auto", "fused_cpu", "nd4j", "reference"));
        }
    }

    /**
     * The prompts: JSONL or Parquet records with {@code question} (templated as in SFT; its {@code answer}
     * is the reference) or {@code prompt} (as is; {@code reference} optional), and an optional {@code id}.
     */
    public record Data(String path, String container, String validation, java.util.Map<String, String> columns) {
        public Data {
            columns = columns == null ? java.util.Map.of() : java.util.Map.copyOf(columns);
            Checks.require(path != null && !path.isBlank(), "data.path must name the prompts");
            container = Checks.oneOf("data.container", container, Set.of("auto", "jsonl", "parquet"));
            validation = Checks.oneOf("data.validation", validation, Set.of("strict", "lenient"));
        }
    }

    /**
     * The algorithm. GRPO: group advantages ({@code advantage: group}, divided by the group's std unless
     * {@code scale_by_std: false} as in Dr. GRPO; or {@code rloo}), clipped ratio with
     * {@code clip_low}/{@code clip_high} (DAPO's clip-higher when clip_high > clip_low; {@code clip_ratio_c} > 1
     * adds the dual clip, which bounds a negative-advantage token's loss at -c A; {@code importance_sampling_level:
     * sequence} is GSPO's ratio, one per sequence), k3 KL to the
     * reference in the loss with {@code kl_coef} (0: off, and no reference passes), token- or
     * sequence-level normalisation, {@code epochs} passes over each batch in {@code minibatches}
     * optimiser steps, and dynamic sampling (groups whose rewards all agree are dropped; with
     * {@code dynamic_sampling_max_batches} > 1, batches of other prompts are sampled until
     * prompts_per_iteration groups carry a signal, as in DAPO, and the surplus is left out), and with
     * {@code mask_truncated_completions} (DAPO's overlong filtering, TRL's option of that name) completions cut at
     * max_new_tokens count in their group's statistics but train no token. PPO: a value
     * head, GAE({@code gamma}, {@code lambda}), clipped value loss ({@code value_coef}, {@code value_clip}),
     * a per-token KL penalty in the reward starting at {@code kl_coef}, adapted toward {@code kl_target}
     * (0: fixed) over {@code kl_horizon}, and advantage whitening.
     */
    public record Algorithm(String name, String advantage, boolean scaleByStd, double stdEps, double clipLow,
                            double clipHigh, double clipRatioC, String importanceSamplingLevel, double klCoef,
                            String lossNormalization, int epochs, int minibatches, boolean dynamicSampling,
                            int dynamicSamplingMaxBatches, boolean maskTruncatedCompletions, double gamma,
                            double lambda, double valueCoef, double valueClip, double klTarget, double klHorizon,
                            boolean whitenAdvantages) implements java.io.Serializable {
        public Algorithm {
            name = Checks.oneOf("algorithm.name", name, Set.of("grpo", "ppo"));
            advantage = Checks.oneOf("algorithm.advantage", advantage, Set.of("group", "rloo"));
            lossNormalization = Checks.oneOf("algorithm.loss_normalization", lossNormalization,
                    Set.of("token", "sequence"));
            Checks.require(stdEps > 0, "algorithm.std_eps must be > 0, got " + stdEps);
            Checks.require(clipLow > 0 && clipLow < 1, "algorithm.clip_low must be in (0, 1), got " + clipLow);
            Checks.require(clipHigh > 0, "algorithm.clip_high must be > 0, got " + clipHigh);
            importanceSamplingLevel = Checks.oneOf("algorithm.importance_sampling_level", importanceSamplingLevel,
                    Set.of("token", "sequence"));
            Checks.require(importanceSamplingLevel.equals("token") || name.equals("grpo"),
                    "algorithm.importance_sampling_level: sequence (GSPO) is GRPO's; PPO's advantages are per token");
            Checks.require(clipRatioC == 0 || clipRatioC > 1, "algorithm.clip_ratio_c (the dual clip) must be > 1, "
                    + "or 0 for none, got " + clipRatioC);
            Checks.require(klCoef >= 0, "algorithm.kl_coef must be >= 0 (0: no KL term), got " + klCoef);
            Checks.require(epochs >= 1, "algorithm.epochs must be >= 1, got " + epochs);
            Checks.require(minibatches >= 1, "algorithm.minibatches must be >= 1, got " + minibatches);
            Checks.require(dynamicSamplingMaxBatches >= 1, "algorithm.dynamic_sampling_max_batches must be >= 1, got "
                    + dynamicSamplingMaxBatches);
            Checks.require(dynamicSamplingMaxBatches == 1 || dynamicSampling && name.equals("grpo"),
                    "algorithm.dynamic_sampling_max_batches > 1 refills the groups dynamic sampling drops: it needs "
                            + "algorithm.name grpo and dynamic_sampling: true");
            Checks.require(!maskTruncatedCompletions || name.equals("grpo"), "algorithm.mask_truncated_completions "
                    + "is GRPO's (PPO's value head learns from truncated sequences)");
            Checks.require(gamma > 0 && gamma <= 1, "algorithm.gamma must be in (0, 1], got " + gamma);
            Checks.require(lambda >= 0 && lambda <= 1, "algorithm.lambda must be in [0, 1], got " + lambda);
            Checks.require(valueCoef > 0, "algorithm.value_coef must be > 0, got " + valueCoef);
            Checks.require(valueClip > 0, "algorithm.value_clip must be > 0, got " + valueClip);
            Checks.require(klTarget >= 0, "algorithm.kl_target must be >= 0 (0: fixed coefficient), got " + klTarget);
            Checks.require(klHorizon > 0, "algorithm.kl_horizon must be > 0, got " + klHorizon);
        }

        public boolean ppo() {
            return name.equals("ppo");
        }
    }

    /**
     * Sampling: {@code group_size} completions for each of {@code prompts_per_iteration} prompts per
     * iteration, up to {@code max_new_tokens} each, decoded {@code decode_batch} rows at a time; log-prob
     * passes and updates take {@code micro_batch} rows at a time. The policy trained is the model's softmax
     * at {@code temperature} (the trainer divides logits by it too, as veRL does); top-k/top-p truncate the
     * sampler only, which shows up as sampler/trainer log-prob mismatch. {@code old_logprobs}: {@code auto} takes
     * the old policy's log-probs and entropies from the sampler where it samples the trained distribution (no
     * truncation, no value head to compute), {@code recompute} always runs the trainer's forward pass for them.
     */
    public record Rollout(int promptsPerIteration, int groupSize, int maxNewTokens, double temperature, int topK,
                          double topP, int decodeBatch, int microBatch, long seed, String oldLogprobs)
            implements java.io.Serializable {
        public Rollout {
            oldLogprobs = Checks.oneOf("rollout.old_logprobs", oldLogprobs == null ? "auto" : oldLogprobs,
                    Set.of("auto", "recompute"));
            Checks.require(promptsPerIteration >= 1, "rollout.prompts_per_iteration must be >= 1, got "
                    + promptsPerIteration);
            Checks.require(groupSize >= 1, "rollout.group_size must be >= 1, got " + groupSize);
            Checks.require(maxNewTokens >= 1, "rollout.max_new_tokens must be >= 1, got " + maxNewTokens);
            Checks.require(temperature > 0, "rollout.temperature must be > 0 (the policy trained is the model's "
                    + "softmax at this temperature), got " + temperature);
            Checks.require(topK >= 0, "rollout.top_k must be >= 0, got " + topK);
            Checks.require(topP > 0 && topP <= 1, "rollout.top_p must be in (0, 1], got " + topP);
            Checks.require(decodeBatch >= 1, "rollout.decode_batch must be >= 1, got " + decodeBatch);
            Checks.require(microBatch >= 1, "rollout.micro_batch must be >= 1, got " + microBatch);
        }

        /** Whether the sampler draws from exactly the distribution the trainer scores (softmax at temperature). */
        public boolean samplesTrainedDistribution() {
            return topK == 0 && topP >= 1;
        }

        /** The sampler's settings: group_size samples per prompt. */
        public io.whetstone.jobs.rollout.SamplingSpec sampling() {
            return new io.whetstone.jobs.rollout.SamplingSpec(groupSize, maxNewTokens, temperature, topK, topP,
                    decodeBatch, seed);
        }
    }

    /**
     * Reward components, each {@code {name, type, weight}} plus its options: {@code task} (the built-in
     * task's verifier), {@code gsm8k} (numeric answer match), {@code format} ({@code pattern}, default: an
     * answer line {@code #### x}), {@code length} (DAPO's overlong penalty: {@code max_tokens},
     * {@code buffer}), {@code mentions} ({@code word}; empty: the prompt's reference), {@code model} (a
     * scalar reward model: {@code path}). Each completion's scoring is limited to {@code timeout_ms} (a batch of n
     * completions, scored together, to n times it).
     */
    public record Rewards(long timeoutMs, List<Map<String, Object>> components) implements java.io.Serializable {
        public Rewards {
            Checks.require(timeoutMs >= 0, "rewards.timeout_ms must be >= 0 (0: no limit), got " + timeoutMs);
            Checks.require(components != null && !components.isEmpty(), "rewards.components must list at least one "
                    + "reward");
            components = List.copyOf(components);
        }
    }

    /**
     * Optimisation: {@code iterations} of sample, score, update. {@code mode: gradient} sums the
     * partitions' gradients on the driver for every minibatch (synchronous); {@code averaging} lets each
     * partition take its minibatch steps on its own rollouts and averages parameters after the iteration.
     */
    public record Train(int iterations, String mode, String optimizer, double lr, int warmupSteps, double minLrRatio,
                        double weightDecay, double beta1, double beta2, double eps, double maxGradNorm)
            implements java.io.Serializable {
        public Train {
            Checks.require(iterations >= 1, "train.iterations must be >= 1, got " + iterations);
            mode = Checks.oneOf("train.mode", mode, Set.of("gradient", "averaging"));
            optimizer = Checks.oneOf("train.optimizer", optimizer, Set.of("adamw", "sgd"));
            Checks.require(lr > 0, "train.lr must be > 0, got " + lr);
            Checks.require(warmupSteps >= 0, "train.warmup_steps must be >= 0, got " + warmupSteps);
            Checks.require(minLrRatio >= 0 && minLrRatio <= 1, "train.min_lr_ratio must be in [0, 1], got "
                    + minLrRatio);
            Checks.require(weightDecay >= 0, "train.weight_decay must be >= 0, got " + weightDecay);
            Checks.require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "train.beta1 and beta2 must be in [0, 1)");
            Checks.require(eps > 0, "train.eps must be > 0, got " + eps);
            Checks.require(maxGradNorm >= 0, "train.max_grad_norm must be >= 0 (0: no clipping), got " + maxGradNorm);
        }
    }

    /**
     * Bands checked after every iteration (0 disables one): mean KL to the reference above
     * {@code kl_max}, mean token entropy below {@code entropy_min}, mean response length above
     * {@code length_max}. On a breach the job stops ({@code action: stop}) or rolls back to the last good
     * checkpoint with the learning rate times {@code rollback_lr_factor}, at most {@code max_rollbacks}
     * times ({@code action: rollback}).
     */
    public record Guards(double klMax, double entropyMin, double lengthMax, String action, int maxRollbacks,
                         double rollbackLrFactor) implements java.io.Serializable {
        public Guards {
            Checks.require(klMax >= 0 && entropyMin >= 0 && lengthMax >= 0, "guards bands must be >= 0 (0: off)");
            action = Checks.oneOf("guards.action", action, Set.of("stop", "rollback"));
            Checks.require(maxRollbacks >= 0, "guards.max_rollbacks must be >= 0, got " + maxRollbacks);
            Checks.require(rollbackLrFactor > 0 && rollbackLrFactor <= 1, "guards.rollback_lr_factor must be in "
                    + "(0, 1], got " + rollbackLrFactor);
        }
    }

    /**
     * Replay against forgetting: SFT records at {@code path} ({@code format} as in the sft job, packed to
     * {@code seq_len}); each update mixes in {@code fraction} replayed rows per rollout row, their
     * cross-entropy weighted by {@code coef}. Empty path or fraction 0: off.
     */
    public record Replay(String path, String format, double fraction, double coef, int seqLen)
            implements java.io.Serializable {
        public Replay {
            path = path == null ? "" : path;
            format = Checks.oneOf("replay.format", format, Set.of("prompt_completion", "messages", "gsm8k"));
            Checks.require(fraction >= 0, "replay.fraction must be >= 0, got " + fraction);
            Checks.require(coef > 0, "replay.coef must be > 0, got " + coef);
            Checks.require(seqLen >= 2, "replay.seq_len must be >= 2, got " + seqLen);
        }

        public boolean enabled() {
            return !path.isBlank() && fraction > 0;
        }
    }

    /**
     * Held-out prompts scored by the rewards under greedy decoding, every {@code every_iterations}
     * iterations (0: only before and after), at most {@code max_prompts} of them. Empty path: off.
     */
    public record Eval(String path, int everyIterations, int maxPrompts) implements java.io.Serializable {
        public Eval {
            path = path == null ? "" : path;
            Checks.require(everyIterations >= 0, "eval.every_iterations must be >= 0, got " + everyIterations);
            Checks.require(maxPrompts >= 1, "eval.max_prompts must be >= 1, got " + maxPrompts);
        }

        public boolean enabled() {
            return !path.isBlank();
        }
    }
}
