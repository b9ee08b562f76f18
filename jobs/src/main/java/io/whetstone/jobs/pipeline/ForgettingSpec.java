package io.whetstone.jobs.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.datasets.records.Format;
import io.whetstone.jobs.config.ConfigException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A pipeline's {@code forgetting} section: held-out corpora that every model the pipeline trains is measured on
 * (loss per token), next to the model it started from, so each stage's effect on what the model knew shows in
 * {@code pipeline.json} and the report. Typically a general corpus and the SFT data's own held-out split.
 * <pre>
 * forgetting:
 *   seq_len: 320
 *   corpora:
 *     general: {path: /data/general-heldout.jsonl, format: prompt_completion}
 *     sft_heldout: {path: "${stages.data.result}/heldout.jsonl", format: gsm8k}
 * </pre>
 *
 * @param seqLen  tokens per row when scoring
 * @param corpora name (as shown in the report) to corpus, in the file's order
 */
public record ForgettingSpec(int seqLen, Map<String, Corpus> corpora) {

    /** The commands whose output is a causal LM to measure (their end event names a {@code checkpoint}). */
    public static final Set<String> MEASURED = Set.of("sft", "distill", "dpo", "grpo", "ppo");

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]*");
    private static final Set<String> KEYS = Set.of("seq_len", "corpora");
    private static final Set<String> CORPUS_KEYS = Set.of("path", "format");

    /**
     * A held-out corpus: any Hadoop path (placeholders allowed) in a training data format.
     *
     * @param path   the corpus, relative paths resolved against the pipeline file's directory
     * @param format prompt_completion | messages | gsm8k
     */
    public record Corpus(String path, String format) {
    }

    public ForgettingSpec {
        corpora = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(corpora));
    }

    /** The section as written in {@code file}, or null when the pipeline has none. */
    static ForgettingSpec read(Path file, Path base, JsonNode node) {
        if (node.isMissingNode() || node.isNull()) {
            return null;
        }
        String where = file + ": forgetting";
        if (!node.isObject()) {
            throw new ConfigException(where + ": expected a mapping with seq_len and corpora");
        }
        node.fieldNames().forEachRemaining(key -> {
            if (!KEYS.contains(key)) {
                throw new ConfigException(where + ": unknown key '" + key + "' (known keys: corpora, seq_len)");
            }
        });
        JsonNode seqLen = node.path("seq_len");
        if (!seqLen.canConvertToInt() || seqLen.asInt() < 2) {
            throw new ConfigException(where + ".seq_len must be a whole number of at least 2, got "
                    + (seqLen.isMissingNode() ? "nothing" : seqLen.toString()));
        }
        JsonNode list = node.path("corpora");
        if (!list.isObject() || list.isEmpty()) {
            throw new ConfigException(where + ".corpora must map names to corpora, e.g. general: {path: "
                    + "/data/heldout.jsonl, format: prompt_completion}");
        }
        Map<String, Corpus> corpora = new LinkedHashMap<>();
        list.fields().forEachRemaining(entry -> {
            String at = where + ".corpora." + entry.getKey();
            if (!NAME.matcher(entry.getKey()).matches()) {
                throw new ConfigException(at + ": a corpus name must be lower-case letters, digits, '_' or '-', "
                        + "starting with a letter");
            }
            JsonNode corpus = entry.getValue();
            if (!corpus.isObject()) {
                throw new ConfigException(at + ": expected {path, format}");
            }
            corpus.fieldNames().forEachRemaining(key -> {
                if (!CORPUS_KEYS.contains(key)) {
                    throw new ConfigException(at + ": unknown key '" + key + "' (known keys: format, path)");
                }
            });
            if (!corpus.path("path").isTextual() || corpus.path("path").asText().isBlank()) {
                throw new ConfigException(at + ".path must name the corpus");
            }
            String format = corpus.path("format").asText("");
            try {
                Format.parse(format);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(at + ".format: " + e.getMessage());
            }
            corpora.put(entry.getKey(), new Corpus(PipelineSpec.resolve(base, corpus.path("path").asText()),
                    format));
        });
        return new ForgettingSpec(seqLen.asInt(), corpora);
    }
}
