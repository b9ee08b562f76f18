package io.whetstone.jobs.generate;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.datasets.records.JsonLine;
import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.records.Piece;
import io.whetstone.datasets.records.RecordError;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The prompt of a record for generation: {@code prompt} as is, {@code question} through the task
 * template used in training, or {@code messages} (the conversation so far) through the chat template.
 * Returns the prompt's pieces, or an error naming the field.
 */
final class PromptParser implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");

    private final ChatTemplateSpec template;

    /** Chats in whetstone's markers. */
    PromptParser() {
        this(new ChatTemplateSpec());
    }

    /** Chats laid out by {@code template} (the model's own, when its tokenizer carries one). */
    PromptParser(ChatTemplateSpec template) {
        this.template = template;
    }

    /** Pieces of the prompt or the reason it has none. */
    record Result(List<Piece> pieces, String text, RecordError error) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    Result parse(String source, long line, String json) {
        // JsonLine refuses text after the object: two glued records must not lose the second silently
        JsonLine read = JsonLine.read(source, line, json);
        if (read.error() != null) {
            return new Result(null, null, read.error());
        }
        JsonNode node = read.node();
        if (node.has("prompt")) {
            JsonNode prompt = node.get("prompt");
            if (!prompt.isTextual() || prompt.asText().isEmpty()) {
                return error(source, line, "prompt", "expected a non-empty string", json);
            }
            return ok(List.of(new Piece.Special("<|bos|>", false), new Piece.Text(prompt.asText(), false)),
                    prompt.asText());
        }
        if (node.has("question")) {
            JsonNode question = node.get("question");
            if (!question.isTextual() || question.asText().isBlank()) {
                return error(source, line, "question", "expected a non-empty string", json);
            }
            String text = template.questionPrompt(question.asText());
            return ok(List.of(new Piece.Special("<|bos|>", false), new Piece.Text(text, false)), text);
        }
        if (node.has("messages")) {
            JsonNode list = node.get("messages");
            if (!list.isArray() || list.isEmpty()) {
                return error(source, line, "messages", "expected a non-empty array", json);
            }
            List<ChatTemplateSpec.Message> messages = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                JsonNode role = list.get(i).path("role");
                JsonNode content = list.get(i).path("content");
                if (!role.isTextual() || !ROLES.contains(role.asText())) {
                    return error(source, line, "messages[" + i + "].role", "expected system, user or assistant", json);
                }
                if (!content.isTextual()) {
                    return error(source, line, "messages[" + i + "].content", "expected a string", json);
                }
                messages.add(new ChatTemplateSpec.Message(role.asText(), content.asText()));
            }
            if (messages.get(messages.size() - 1).role().equals("assistant")) {
                messages.remove(messages.size() - 1); // generate that turn anew
            }
            for (int i = 0; i < messages.size(); i++) {
                String problem = template.contentProblem(messages.get(i).content());
                if (problem != null) {
                    return error(source, line, "messages[" + i + "].content", problem, json);
                }
            }
            try {
                return ok(template.generationPrompt(messages), messages.get(messages.size() - 1).content());
            } catch (io.whetstone.datasets.jinja.JinjaException e) {
                return error(source, line, "messages", "the model's chat template " + (e instanceof
                        io.whetstone.datasets.jinja.JinjaException.Raised raised ? "refuses it: " + raised.reason()
                        : "fails on it: " + e.getMessage()), json);
            }
        }
        return error(source, line, "-", "no prompt, question or messages field", json);
    }

    private static Result ok(List<Piece> pieces, String text) {
        return new Result(pieces, text, null);
    }

    private static Result error(String source, long line, String field, String reason, String raw) {
        return new Result(null, null, new RecordError(source, line, field, reason, raw));
    }
}
