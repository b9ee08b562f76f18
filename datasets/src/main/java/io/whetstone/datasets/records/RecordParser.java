package io.whetstone.datasets.records;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.datasets.jinja.JinjaException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Parses and validates one JSON record of a {@link Format} into an {@link Example}, or says exactly
 * which field is wrong. Checks: the line is a JSON object; required fields exist and are strings; no
 * unknown fields; completions, answers and assistant turns are not empty; roles are known; a
 * conversation has an assistant turn. Length limits are checked after tokenization.
 */
public final class RecordParser implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");

    private final Format format;
    private final ChatTemplateSpec template;

    public RecordParser(Format format, ChatTemplateSpec template) {
        this.format = format;
        this.template = template;
    }

    /** Parses a JSONL line (1-based {@code line}) from {@code source}. */
    public Parsed parseJson(String source, long line, String text) {
        JsonLine read = JsonLine.read(source, line, text);
        if (read.error() != null) {
            return Parsed.rejected(read.error());
        }
        return parse(source, line, read.node(), text);
    }

    /** Parses an already-decoded record (e.g. a Parquet row converted to JSON). */
    public Parsed parse(String source, long line, JsonNode node, String raw) {
        return switch (format) {
            case PROMPT_COMPLETION -> promptCompletion(source, line, node, raw);
            case MESSAGES -> messages(source, line, node, raw);
            case GSM8K -> gsm8k(source, line, node, raw);
        };
    }

    private Parsed promptCompletion(String source, long line, JsonNode node, String raw) {
        RecordError error = requireFields(source, line, node, raw, Set.of("prompt", "completion"), "", Set.of("id"));
        if (error != null) {
            return Parsed.rejected(error);
        }
        String prompt = node.get("prompt").asText();
        String completion = node.get("completion").asText();
        if (completion.isBlank()) {
            return reject(source, line, "completion", "is empty", raw);
        }
        return Parsed.ok(new Example(source, line, template.promptCompletion(prompt, completion)));
    }

    private Parsed gsm8k(String source, long line, JsonNode node, String raw) {
        RecordError error = requireFields(source, line, node, raw, Set.of("question", "answer"));
        if (error != null) {
            return Parsed.rejected(error);
        }
        String question = node.get("question").asText();
        String answer = node.get("answer").asText();
        if (question.isBlank()) {
            return reject(source, line, "question", "is empty", raw);
        }
        if (answer.isBlank()) {
            return reject(source, line, "answer", "is empty", raw);
        }
        return Parsed.ok(new Example(source, line, template.promptCompletion(
                template.questionPrompt(question), answer)));
    }

    private Parsed messages(String source, long line, JsonNode node, String raw) {
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!name.equals("messages")) {
                return reject(source, line, name, "unknown field (the messages format has only 'messages')", raw);
            }
        }
        JsonNode list = node.get("messages");
        if (list == null) {
            return reject(source, line, "messages", "missing", raw);
        }
        if (!list.isArray()) {
            return reject(source, line, "messages", "expected an array, got " + kind(list), raw);
        }
        if (list.isEmpty()) {
            return reject(source, line, "messages", "is empty", raw);
        }
        List<ChatTemplateSpec.Message> messages = new ArrayList<>();
        boolean hasAssistant = false;
        for (int i = 0; i < list.size(); i++) {
            JsonNode message = list.get(i);
            String path = "messages[" + i + "]";
            if (!message.isObject()) {
                return reject(source, line, path, "expected an object, got " + kind(message), raw);
            }
            RecordError error = requireFields(source, line, message, raw, Set.of("role", "content"), path + ".");
            if (error != null) {
                return Parsed.rejected(error);
            }
            String role = message.get("role").asText();
            if (!ROLES.contains(role)) {
                return reject(source, line, path + ".role", "unknown role '" + role
                        + "' (expected system, user or assistant)", raw);
            }
            String content = message.get("content").asText();
            String problem = template.contentProblem(content);
            if (problem != null) {
                return reject(source, line, path + ".content", problem, raw);
            }
            if (role.equals("assistant")) {
                if (content.isBlank()) {
                    return reject(source, line, path + ".content", "assistant turn is empty", raw);
                }
                hasAssistant = true;
            }
            messages.add(new ChatTemplateSpec.Message(role, content));
        }
        if (!hasAssistant) {
            return reject(source, line, "messages", "has no assistant turn to train on", raw);
        }
        try {
            return Parsed.ok(new Example(source, line, template.conversation(messages)));
        } catch (JinjaException e) {
            return reject(source, line, "messages", "the model's chat template " + (e instanceof JinjaException.Raised
                    raised ? "refuses it: " + raised.reason() : "fails on it: " + e.getMessage()), raw);
        } catch (IllegalArgumentException e) {
            return reject(source, line, "messages", e.getMessage(), raw);
        }
    }

    private static RecordError requireFields(String source, long line, JsonNode node, String raw, Set<String> required) {
        return requireFields(source, line, node, raw, required, "", Set.of());
    }

    private static RecordError requireFields(String source, long line, JsonNode node, String raw, Set<String> required,
                                             String prefix) {
        return requireFields(source, line, node, raw, required, prefix, Set.of());
    }

    /** {@code optional} fields (e.g. a record's id) may be present; they must be strings and are not trained on. */
    private static RecordError requireFields(String source, long line, JsonNode node, String raw, Set<String> required,
                                             String prefix, Set<String> optional) {
        for (String field : optional) {
            JsonNode value = node.get(field);
            if (value != null && !value.isTextual()) {
                return new RecordError(source, line, prefix + field, "expected a string, got " + kind(value), raw);
            }
        }
        for (String field : List.of("prompt", "completion", "question", "answer", "role", "content")) {
            if (!required.contains(field)) {
                continue;
            }
            JsonNode value = node.get(field);
            if (value == null || value.isMissingNode()) {
                return new RecordError(source, line, prefix + field, "missing", raw);
            }
            if (!value.isTextual()) {
                return new RecordError(source, line, prefix + field, "expected a string, got " + kind(value), raw);
            }
        }
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!required.contains(name) && !optional.contains(name)) {
                return new RecordError(source, line, prefix + name, "unknown field (expected " + String.join(", ",
                        required.stream().sorted().toList()) + (optional.isEmpty() ? "" : "; optional "
                        + String.join(", ", optional.stream().sorted().toList())) + ")", raw);
            }
        }
        return null;
    }

    private static String kind(JsonNode node) {
        return node.isNull() ? "null" : node.getNodeType().toString().toLowerCase();
    }

    private static Parsed reject(String source, long line, String field, String reason, String raw) {
        return Parsed.rejected(new RecordError(source, line, field, reason, raw));
    }
}
