package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The preference-data job's configuration ({@code whetstone preference-data}); see
 * {@code conf/preference-data.yaml} for every key with its meaning.
 */
public record PreferenceDataConfig(RunSpec run, PolicySpec policy, PromptDataSpec data, SamplingSection sampling,
                                   Scoring scoring, Pairs pairs, OutputSpec output, SparkSpec spark, DebugSpec debug) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/preference-data-defaults.yaml";

    public PreferenceDataConfig {
        Checks.require(run != null && policy != null && data != null && sampling != null && scoring != null
                && pairs != null && output != null && spark != null && debug != null,
                "every section of the preference-data config must be set");
        Checks.require(sampling.samplesPerPrompt() >= 2 || pairs.mode().equals("unpaired"),
                "sampling.samples_per_prompt must be >= 2 to form pairs, got " + sampling.samplesPerPrompt());
    }

    /** Defaults, then {@code file} (may be null), then {@code overrides}. */
    public static PreferenceDataConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(PreferenceDataConfig.class, DEFAULTS, file, overrides);
    }

    /**
     * How samples are scored: reward components as in the RL configs ({@code task}, {@code gsm8k},
     * {@code format}, {@code length}, {@code mentions}, {@code model}: a verifier, a reward model or both,
     * weighted), each call limited to {@code timeout_ms}.
     */
    public record Scoring(List<Map<String, Object>> components, long timeoutMs) {
        public Scoring {
            Checks.require(components != null && !components.isEmpty(), "scoring.components must list at least one "
                    + "scorer");
            Checks.require(timeoutMs >= 0, "scoring.timeout_ms must be >= 0 (0: no limit), got " + timeoutMs);
            components = List.copyOf(components);
        }
    }

    /**
     * How scored samples become data: {@code best_worst} (one pair per prompt), {@code all_pairs} (every
     * higher- with every lower-scored completion, largest gaps first) or {@code unpaired} (each completion
     * labelled desirable at or above {@code desirable_reward}, for KTO); pairs need a score gap of at least
     * {@code min_gap}; at most {@code max_per_prompt} per prompt (0: no limit). Completions cut at
     * {@code max_new_tokens} are left out (they would be trained as if they ended there) unless
     * {@code keep_unfinished}.
     */
    public record Pairs(String mode, double minGap, int maxPerPrompt, double desirableReward,
                        boolean keepUnfinished) {
        public Pairs {
            mode = Checks.oneOf("pairs.mode", mode, Set.of("best_worst", "all_pairs", "unpaired"));
            Checks.require(minGap > 0, "pairs.min_gap must be > 0, got " + minGap);
            Checks.require(maxPerPrompt >= 0, "pairs.max_per_prompt must be >= 0 (0: no limit), got " + maxPerPrompt);
        }
    }

}
