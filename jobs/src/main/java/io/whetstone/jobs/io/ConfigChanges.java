package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a resumed run's config changes against the config its checkpoint was written with, split into changes that
 * cannot apply to a run under way (what is trained, on what: the model, its tokenizer and adapters, the data, the
 * reference, the algorithm) and changes that apply from the resumed round on (schedule, rounds, cadence,
 * resources), which are logged.
 *
 * @param refused changes a resumed run cannot make
 * @param applied changes that take effect from the resumed round
 */
public record ConfigChanges(List<Change> refused, List<Change> applied) {

    /** One key's value in the checkpoint's config and in this run's. */
    public record Change(String key, String before, String now) {
        @Override
        public String toString() {
            return key + ": " + before + " -> " + now;
        }
    }

    /** Sections (and keys) fixed for the life of a run. */
    private static final List<String> FIXED = List.of("model.", "tokenizer.", "lora.", "data.", "reference.",
            "algorithm.name", "score_token.", "distill.teacher", "policy.");
    /** Keys inside fixed sections that only say where or how fast, not what. */
    private static final Set<String> FREE = Set.of("data.cache_dir", "model.kernels", "reference.kernels",
            "policy.kernels");
    /** Architecture keys: fixed for a model trained from scratch, unused (so not compared) when model.init loads one. */
    private static final Set<String> ARCHITECTURE = Set.of("model.family", "model.width", "model.layers",
            "model.heads", "model.kv_heads", "model.ffn_hidden", "model.max_seq_len");

    /** Compares the checkpoint's resolved config {@code before} with this run's {@code now}. */
    public static ConfigChanges between(JsonNode before, JsonNode now) {
        Map<String, String> old = flatten(before);
        Map<String, String> current = flatten(now);
        boolean scratch = "scratch".equals(current.get("model.init"));
        List<Change> refused = new ArrayList<>();
        List<Change> applied = new ArrayList<>();
        Set<String> keys = new java.util.TreeSet<>(old.keySet());
        keys.addAll(current.keySet());
        for (String key : keys) {
            String a = old.getOrDefault(key, "(unset)");
            String b = current.getOrDefault(key, "(unset)");
            if (a.equals(b) || key.startsWith("run.") || key.startsWith("debug.") || key.equals("checkpoint.resume")
                    || (!scratch && ARCHITECTURE.contains(key))) {
                continue;
            }
            Change change = new Change(key, a, b);
            boolean fixed = !FREE.contains(key) && FIXED.stream().anyMatch(key::startsWith);
            (fixed ? refused : applied).add(change);
        }
        return new ConfigChanges(refused, applied);
    }

    private static Map<String, String> flatten(JsonNode node) {
        Map<String, String> out = new TreeMap<>();
        flatten("", node, out);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                flatten(prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey(), field.getValue(), out);
            }
        } else {
            out.put(prefix, node.isTextual() ? node.asText() : node.toString());
        }
    }
}
