package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The chain-of-thought corpus job's configuration ({@code whetstone distill-data}); see
 * {@code conf/distill-data.yaml} for every key with its meaning.
 */
public record DistillDataConfig(RunSpec run, Teacher teacher, PromptDataSpec data, SamplingSection sampling, Filter filter,
                                OutputSpec output, SparkSpec spark, DebugSpec debug) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/distill-data-defaults.yaml";

    public DistillDataConfig {
        Checks.require(run != null && teacher != null && data != null && sampling != null && filter != null
                && output != null && spark != null && debug != null, "every section of the distill-data config must be set");
    }

    /** Defaults, then {@code file} (may be null), then {@code overrides}. */
    public static DistillDataConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(DistillDataConfig.class, DEFAULTS, file, overrides);
    }

    /** The teacher: a checkpoint, model directory or GGUF on any Hadoop path. */
    public record Teacher(String path, String kernels) {
        public Teacher {
            Checks.require(path != null && !path.isBlank(), "teacher.path must be set");
        }
    }


    /**
     * Which rationales are kept: those the {@code verifier} (one reward component, as in the RL configs)
     * scores at least {@code min_reward}; at most {@code max_per_prompt} per prompt (0: all), after
     * dropping repeats of a completion already kept for that prompt when {@code dedupe}.
     */
    public record Filter(Map<String, Object> verifier, double minReward, int maxPerPrompt, boolean dedupe,
                         long timeoutMs) {
        public Filter {
            Checks.require(verifier != null && verifier.get("type") != null, "filter.verifier.type must be set "
                    + "(task, gsm8k, format, mentions, length or model)");
            Checks.require(maxPerPrompt >= 0, "filter.max_per_prompt must be >= 0 (0: no limit), got " + maxPerPrompt);
            Checks.require(timeoutMs >= 0, "filter.timeout_ms must be >= 0, got " + timeoutMs);
        }
    }

}
