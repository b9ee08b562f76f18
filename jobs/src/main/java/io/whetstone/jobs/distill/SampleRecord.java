package io.whetstone.jobs.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One teacher sample as a chunk of the work area stores it: enough to rebuild the corpus and its
 * statistics without sampling again.
 *
 * @param index the prompt's position in the input
 * @param id the prompt's id
 * @param sample which of the prompt's samples
 * @param prompt the prompt text (as templated for the model)
 * @param completion the rationale text (without the end-of-sequence token)
 * @param reward the verifier's score (NaN when it failed)
 * @param failure why the verifier failed, or null
 * @param tokens the rationale's length in tokens
 * @param finish stop, length or context
 */
record SampleRecord(long index, String id, int sample, String prompt, String completion, double reward,
                    String failure, int tokens, String finish) {

    private static final ObjectMapper JSON = new ObjectMapper();

    String toJson() {
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

    static SampleRecord fromJson(String line) {
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
