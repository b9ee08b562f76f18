package io.whetstone.jobs.rollout;

import io.whetstone.datasets.rewards.FormatReward;
import io.whetstone.datasets.rewards.Gsm8kAnswerReward;
import io.whetstone.datasets.rewards.LengthPenalty;
import io.whetstone.datasets.rewards.MentionReward;
import io.whetstone.datasets.rewards.Reward;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.rewards.TaskAnswerReward;
import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.models.engine.EngineOptions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;

/** Builds the reward components of {@code rewards.components}, checking every entry's keys and values. */
public final class RewardFactory {

    private static final Map<String, Set<String>> OPTIONS = Map.of(
            "task", Set.of(),
            "gsm8k", Set.of(),
            "format", Set.of("pattern"),
            "length", Set.of("max_tokens", "buffer"),
            "mentions", Set.of("word"),
            "model", Set.of("path"));

    /** The component types that score 0 or 1: their mean over completions is a proportion. */
    public static final Set<String> ZERO_ONE_TYPES = Set.of("task", "gsm8k", "format", "mentions");

    private RewardFactory() {
    }

    /** The components, in order; {@code maxNewTokens} is the length penalty's default limit. */
    public static List<RewardScorer.Component> build(List<Map<String, Object>> specs, int maxNewTokens,
                                                     JavaSparkContext context, HadoopFiles files, EngineOptions engine) {
        List<RewardScorer.Component> components = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < specs.size(); i++) {
            Map<String, Object> spec = specs.get(i);
            String at = "rewards.components[" + i + "]";
            String type = string(spec, "type", at, null);
            if (!OPTIONS.containsKey(type)) {
                throw new ConfigException(at + ".type must be one of " + OPTIONS.keySet().stream().sorted().toList()
                        + ", got '" + type + "'");
            }
            for (String key : spec.keySet()) {
                if (!Set.of("name", "type", "weight").contains(key) && !OPTIONS.get(type).contains(key)) {
                    throw new ConfigException(at + ": unknown key " + key + " for a " + type + " reward (known: name, "
                            + "type, weight" + (OPTIONS.get(type).isEmpty() ? "" : ", " + String.join(", ",
                            OPTIONS.get(type).stream().sorted().toList())) + ")");
                }
            }
            String name = string(spec, "name", at, type);
            if (!names.add(name)) {
                throw new ConfigException(at + ".name '" + name + "' is used twice");
            }
            double weight = number(spec, "weight", at, 1.0);
            Reward reward = switch (type) {
                case "task" -> new TaskAnswerReward();
                case "gsm8k" -> new Gsm8kAnswerReward();
                case "format" -> new FormatReward(string(spec, "pattern", at, FormatReward.ANSWER_LINE));
                case "length" -> {
                    int max = (int) number(spec, "max_tokens", at, maxNewTokens);
                    int buffer = (int) number(spec, "buffer", at, Math.max(1, max / 4));
                    try {
                        yield new LengthPenalty(max, buffer);
                    } catch (IllegalArgumentException e) {
                        throw new ConfigException(at + ": " + e.getMessage());
                    }
                }
                case "mentions" -> new MentionReward(string(spec, "word", at, ""));
                case "model" -> ModelReward.load(context, files, string(spec, "path", at, null), engine);
                default -> throw new IllegalStateException(type);
            };
            components.add(new RewardScorer.Component(name, weight, reward));
        }
        return components;
    }

    private static String string(Map<String, Object> spec, String key, String at, String fallback) {
        Object value = spec.get(key);
        if (value == null) {
            if (fallback == null) {
                throw new ConfigException(at + "." + key + " must be set");
            }
            return fallback;
        }
        return value.toString();
    }

    private static double number(Map<String, Object> spec, String key, String at, double fallback) {
        Object value = spec.get(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Number number) {
            return number.doubleValue();
        }
        try {
            return Double.parseDouble(value.toString());
        } catch (NumberFormatException e) {
            throw new ConfigException(at + "." + key + " must be a number, got '" + value + "'");
        }
    }
}
