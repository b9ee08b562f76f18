package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;


/**
 * The process-reward data job's configuration ({@code whetstone prm-data}); see {@code conf/prm-data.yaml}.
 */
public record PrmDataConfig(RunSpec run, PolicySpec policy, PromptDataSpec data, Sampling sampling, Steps steps,
                            TtsConfig.Answer answer, OutputSpec output, SparkSpec spark) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/prm-data-defaults.yaml";

    public PrmDataConfig {
        Checks.require(run != null && policy != null && data != null && sampling != null && steps != null
                && answer != null && output != null && spark != null, "every section of the prm-data config must be set");
        Checks.require(output.format().equals("jsonl"), "output.format must be jsonl for prm-data (steps.jsonl), got "
                + output.format());
    }

    /** Defaults, then {@code file} (may be null), then {@code overrides}. */
    public static PrmDataConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(PrmDataConfig.class, DEFAULTS, file, overrides);
    }

    /**
     * {@code solutions_per_prompt} sampled solutions per question; from each step prefix of each solution,
     * {@code rollouts_per_step} continuations; all at {@code temperature}, up to {@code max_new_tokens}.
     */
    public record Sampling(int solutionsPerPrompt, int rolloutsPerStep, int maxNewTokens, double temperature, int topK,
                           double topP, int decodeBatch, long seed, int chunkPrompts) {
        public Sampling {
            Checks.require(chunkPrompts >= 1, "sampling.chunk_prompts must be >= 1, got " + chunkPrompts);
            Checks.require(solutionsPerPrompt >= 1, "sampling.solutions_per_prompt must be >= 1, got "
                    + solutionsPerPrompt);
            Checks.require(rolloutsPerStep >= 1, "sampling.rollouts_per_step must be >= 1, got " + rolloutsPerStep);
            Checks.require(maxNewTokens >= 1, "sampling.max_new_tokens must be >= 1, got " + maxNewTokens);
            Checks.require(temperature > 0, "sampling.temperature must be > 0, got " + temperature);
            Checks.require(topK >= 0, "sampling.top_k must be >= 0, got " + topK);
            Checks.require(topP > 0 && topP <= 1, "sampling.top_p must be in (0, 1], got " + topP);
            Checks.require(decodeBatch >= 1, "sampling.decode_batch must be >= 1, got " + decodeBatch);
        }
    }

    /**
     * How solutions split into steps: a step ends with {@code delimiter} (YAML escapes: "\\n"); with
     * {@code true_labels}, the reference is a full step-by-step solution of a deterministic procedure (the built-in
     * task) and each step is also labelled by whether the solution is still on the reference's path.
     */
    public record Steps(String delimiter, boolean trueLabels) {
        public Steps {
            Checks.require(delimiter != null && !delimiter.isEmpty(), "steps.delimiter must not be empty");
        }
    }

}
