package io.whetstone.jobs.rollout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One scored sample as a chunk of a sampling job's work area stores it: enough to rebuild the job's output
 * and its statistics without sampling again.
 *
 * @param index the prompt's position in the input
 * @param id the prompt's id
 * @param sample which of the prompt's samples
 * @param prompt the prompt text (as templated for the model)
 * @param completion the completion text (without the end-of-sequence token)
 * @param reward the score (NaN when scoring failed)
 * @param failure why scoring failed, or null
 * @param tokens the completion's length in tokens
 * @param finish stop, length or context
 */
public record SampleRecord(long index, String id, int sample, String prompt, String completion, double reward,
                    String failure, int tokens, String finish) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The record of a sample. */
    public static SampleRecord of(Sample sample) {
        return new SampleRecord(sample.promptIndex(), sample.promptId(), sample.sample(), sample.prompt(),
                sample.completion(), sample.reward(), sample.failure(), sample.completionIds().length, sample.finish());
    }

    /** Whether generation stopped at the end-of-sequence token (not at the length limit). */
    public boolean stopped() {
        return finish.equals("stop");
    }

    public String toJson() {
        ObjectNode node = JSON.createObjectNode();
        node.put("index", index);
        node.put("id", id);
        node.put("sample", sample);
        node.put("prompt", prompt);
        node.put("completion", completion);
        if (Double.isNaN(reward)) {
            node.putNull("reward");
        } else {
            node.put("reward", reward);
        }
        node.put("failure", failure);
        node.put("tokens", tokens);
        node.put("finish", finish);
        return node.toString();
    }

    public static SampleRecord fromJson(String line) {
        try {
            JsonNode node = JSON.readTree(line);
            return new SampleRecord(node.get("index").asLong(), node.get("id").asText(), node.get("sample").asInt(),
                    node.get("prompt").asText(), node.get("completion").asText(),
                    node.get("reward").isNull() ? Double.NaN : node.get("reward").asDouble(),
                    node.get("failure").isNull() ? null : node.get("failure").asText(), node.get("tokens").asInt(),
                    node.get("finish").asText());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("corrupt sample record: " + line, e);
        }
    }
}
