package io.whetstone.jobs.config;

/** A prompt set with reference answers: {question, answer} or {prompt, reference}, optional id. */
public record PromptDataSpec(String path, String container, String validation) {
    public PromptDataSpec {
        Checks.require(path != null && !path.isBlank(), "data.path must be set");
        Checks.require(validation.equals("strict") || validation.equals("lenient"),
                "data.validation must be strict or lenient, got " + validation);
    }
}
