package io.whetstone.datasets.records;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One JSONL line as a JSON object, or why it is not one: not valid JSON, text after the object (two glued
 * records would otherwise lose the second silently), or a value that is not an object. Every record parser
 * reads its lines through here.
 *
 * @param node the object, or null
 * @param error why the line is not one object, or null
 */
public record JsonLine(JsonNode node, RecordError error) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * Starts the text of a line whose bytes are not valid UTF-8 (the rest is the line decoded with replacement
     * characters, for the reject file). A NUL cannot start a JSON text, so no valid line is mistaken for one.
     */
    public static final String INVALID_UTF8 = "\u0000invalid-utf8\u0000";

    /** Reads line {@code line} (1-based) of {@code source}. */
    public static JsonLine read(String source, long line, String text) {
        if (text.startsWith(INVALID_UTF8)) {
            return new JsonLine(null, new RecordError(source, line, "-", "not valid UTF-8 text (decoding it would "
                    + "replace bytes with U+FFFD)", text.substring(INVALID_UTF8.length())));
        }
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return new JsonLine(null, new RecordError(source, line, "-", "not valid JSON: " + e.getOriginalMessage(),
                    text));
        }
        if (node == null || !node.isObject()) {
            return new JsonLine(null, new RecordError(source, line, "-", "expected a JSON object, got "
                    + (node == null ? "an empty line" : node.isNull() ? "null" : node.getNodeType().toString()
                    .toLowerCase()), text));
        }
        return new JsonLine(node, null);
    }
}
