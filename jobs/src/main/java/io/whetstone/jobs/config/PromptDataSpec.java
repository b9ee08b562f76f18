package io.whetstone.jobs.config;

/**
 * A prompt set with reference answers: {question, answer} or {prompt, reference}, optional id; {@code columns}
 * names the column (or JSON key) of a field stored under another name.
 */
public record PromptDataSpec(String path, String container, String validation, java.util.Map<String, String> columns) {
    public PromptDataSpec {
        columns = columns == null ? java.util.Map.of() : java.util.Map.copyOf(columns);
        Checks.require(path != null && !path.isBlank(), "data.path must be set");
        Checks.require(validation.equals("strict") || validation.equals("lenient"),
                "data.validation must be strict or lenient, got " + validation);
    }
}
