package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The test-time scaling job's configuration ({@code whetstone tts}); see {@code conf/tts.yaml} for every key.
 */
public record TtsConfig(RunSpec run, PolicySpec policy, PromptDataSpec data, Sampling sampling, Answer answer,
                        String rewardModel, ProcessReward processReward, List<String> strategies, Budget budget,
                        Adaptive adaptive, Beam beam, SparkSpec spark) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/tts-defaults.yaml";

    /** Every strategy the job knows. */
    public static final Set<String> STRATEGIES = Set.of("greedy", "self_consistency", "weighted_vote", "best_of_n_rm",
            "best_of_n_prm", "best_of_n_verifier", "adaptive", "beam_search");

    public TtsConfig {
        Checks.require(run != null && policy != null && data != null && sampling != null && answer != null
                && processReward != null && strategies != null && budget != null && adaptive != null && beam != null
                && spark != null,
                "every section of the tts config must be set");
        rewardModel = rewardModel == null ? "" : rewardModel.trim();
        strategies = List.copyOf(strategies);
        Checks.require(!strategies.isEmpty(), "strategies must list at least one strategy");
        for (String strategy : strategies) {
            Checks.oneOf("strategies", strategy, STRATEGIES);
            Checks.require(!(strategy.equals("weighted_vote") || strategy.equals("best_of_n_rm"))
                    || !rewardModel.isEmpty(), "strategy " + strategy + " needs reward_model (an outcome reward "
                    + "model directory, as the reward-model job exports)");
            Checks.require(!(strategy.equals("best_of_n_prm") || strategy.equals("beam_search"))
                    || !processReward.path().isEmpty(), "strategy " + strategy + " needs process_reward.path (the prm "
                    + "job's process_reward_model directory)");
        }
        if (budget.unit().equals("samples")) {
            for (int value : budget.values()) {
                Checks.require(value <= sampling.samplesPerPrompt(), "budget.values: " + value + " samples per "
                        + "question exceed sampling.samples_per_prompt " + sampling.samplesPerPrompt());
            }
        }
        Checks.require(adaptive.first() <= sampling.samplesPerPrompt(), "adaptive.first " + adaptive.first()
                + " exceeds sampling.samples_per_prompt " + sampling.samplesPerPrompt());
    }

    /** Defaults, then {@code file} (may be null), then {@code overrides}. */
    public static TtsConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(TtsConfig.class, DEFAULTS, file, overrides);
    }

    /**
     * {@code samples_per_prompt} completions of each question (the largest budget), at {@code temperature} with
     * top-k/top-p truncation, up to {@code max_new_tokens}, {@code decode_batch} rows at a time (the samples of
     * one question share its prefilled prompt); every sample seeded by (seed, question, sample). Questions run in
 * chunks of {@code chunk_prompts}; a finished chunk's outcomes are kept, so a killed run resumes at its first
 * unfinished chunk.
     */
    public record Sampling(int samplesPerPrompt, int maxNewTokens, double temperature, int topK, double topP,
                           int decodeBatch, long seed, int chunkPrompts) {
        public Sampling {
            Checks.require(samplesPerPrompt >= 1, "sampling.samples_per_prompt must be >= 1, got " + samplesPerPrompt);
            Checks.require(maxNewTokens >= 1, "sampling.max_new_tokens must be >= 1, got " + maxNewTokens);
            Checks.require(temperature > 0, "sampling.temperature must be > 0 (greedy is its own strategy), got "
                    + temperature);
            Checks.require(topK >= 0, "sampling.top_k must be >= 0, got " + topK);
            Checks.require(topP > 0 && topP <= 1, "sampling.top_p must be in (0, 1], got " + topP);
            Checks.require(decodeBatch >= 1, "sampling.decode_batch must be >= 1, got " + decodeBatch);
            Checks.require(chunkPrompts >= 1, "sampling.chunk_prompts must be >= 1, got " + chunkPrompts);
        }
    }

    /** How final answers are read, voted on and checked: {@code task} ({@code #### answer}) or {@code gsm8k}. */
    public record Answer(String format) {
        public Answer {
            format = Checks.oneOf("answer.format", format, Set.of("task", "gsm8k"));
        }
    }

    /**
     * A process reward model (the prm job's export): solutions split into steps at {@code delimiter}, each step
     * scored, and the probabilities sigmoid(score) aggregated by {@code min}, {@code last} or {@code product}.
     */
    public record ProcessReward(String path, String delimiter, String aggregation) implements java.io.Serializable {
        public ProcessReward {
            path = path == null ? "" : path.trim();
            Checks.require(delimiter != null && !delimiter.isEmpty(), "process_reward.delimiter must not be empty");
            aggregation = Checks.oneOf("process_reward.aggregation", aggregation, Set.of("min", "last", "product"));
        }
    }

    /**
     * Step-level beam search guided by the process reward model: {@code width} beams, {@code expansions} sampled
     * next steps per beam, {@code lookahead} greedy steps rolled out to score a candidate step (0: none), at most
     * {@code max_steps} steps.
     */
    public record Beam(int width, int expansions, int lookahead, int maxSteps) implements java.io.Serializable {
        public Beam {
            Checks.require(width >= 1, "beam.width must be >= 1, got " + width);
            Checks.require(expansions >= 1, "beam.expansions must be >= 1, got " + expansions);
            Checks.require(lookahead >= 0, "beam.lookahead must be >= 0, got " + lookahead);
            Checks.require(maxSteps >= 1, "beam.max_steps must be >= 1, got " + maxSteps);
        }
    }

    /**
     * The compute per question each strategy is measured at: {@code samples} (the first n samples) or
     * {@code tokens} (the leading samples whose generated tokens fit).
     */
    public record Budget(String unit, List<Integer> values) {
        public Budget {
            unit = Checks.oneOf("budget.unit", unit, Set.of("samples", "tokens"));
            values = values == null ? List.of() : List.copyOf(values);
            Checks.require(!values.isEmpty(), "budget.values must list at least one budget");
            for (int value : values) {
                Checks.require(value >= 1, "budget.values must be >= 1, got " + value);
            }
        }
    }

    /**
     * Compute-optimal self-consistency: vote over the first {@code first} samples and stop when the top answer
     * has at least {@code agreement} of their votes; otherwise spend the whole budget.
     */
    public record Adaptive(int first, double agreement) implements java.io.Serializable {
        public Adaptive {
            Checks.require(first >= 1, "adaptive.first must be >= 1, got " + first);
            Checks.require(agreement > 0 && agreement <= 1, "adaptive.agreement must be in (0, 1], got " + agreement);
        }
    }
}
