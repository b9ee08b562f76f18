package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The chain-of-thought corpus job's configuration ({@code whetstone distill-data}); see
 * {@code conf/distill-data.yaml} for every key with its meaning.
 */
public record DistillDataConfig(RunSpec run, Teacher teacher, Data data, Sampling sampling, Filter filter,
                                Output output, SparkSpec spark, DebugSpec debug) {

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

    /** Prompts with reference answers: {question, answer} or {prompt, reference}, optional id. */
    public record Data(String path, String container, String validation) {
        public Data {
            Checks.require(path != null && !path.isBlank(), "data.path must be set");
            Checks.require(validation.equals("strict") || validation.equals("lenient"),
                    "data.validation must be strict or lenient, got " + validation);
        }
    }

    /**
     * Sampling: {@code samples_per_prompt} rationales per prompt, each seeded by (seed, prompt, sample);
     * prompts are processed in chunks of {@code chunk_prompts}, each written when done, so a killed run
     * resumes after its last complete chunk.
     */
    public record Sampling(int samplesPerPrompt, int maxNewTokens, double temperature, int topK, double topP,
                           int decodeBatch, long seed, int chunkPrompts) {
        public Sampling {
            Checks.require(samplesPerPrompt >= 1, "sampling.samples_per_prompt must be >= 1, got " + samplesPerPrompt);
            Checks.require(maxNewTokens >= 1, "sampling.max_new_tokens must be >= 1, got " + maxNewTokens);
            Checks.require(temperature >= 0, "sampling.temperature must be >= 0 (0: greedy), got " + temperature);
            Checks.require(topK >= 0, "sampling.top_k must be >= 0, got " + topK);
            Checks.require(topP > 0 && topP <= 1, "sampling.top_p must be in (0, 1], got " + topP);
            Checks.require(decodeBatch >= 1, "sampling.decode_batch must be >= 1, got " + decodeBatch);
            Checks.require(chunkPrompts >= 1, "sampling.chunk_prompts must be >= 1, got " + chunkPrompts);
        }

        /** The sampler's settings. */
        public io.whetstone.jobs.rollout.SamplingSpec spec() {
            return new io.whetstone.jobs.rollout.SamplingSpec(samplesPerPrompt, maxNewTokens, temperature, topK, topP,
                    decodeBatch, seed);
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

    /** Where the corpus goes ({@code path}, any Hadoop path) and as what: jsonl, parquet or both. */
    public record Output(String path, String format) {
        public Output {
            Checks.require(path != null && !path.isBlank(), "output.path must be set");
            format = format == null ? "" : format.trim().toLowerCase(Locale.ROOT);
            Checks.require(List.of("jsonl", "parquet", "both").contains(format),
                    "output.format must be jsonl, parquet or both, got " + format);
        }

        public boolean jsonl() {
            return !format.equals("parquet");
        }

        public boolean parquet() {
            return !format.equals("jsonl");
        }
    }
}
