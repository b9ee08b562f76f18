package io.whetstone.datasets.records;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.datasets.jinja.JinjaException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Parses and validates one preference record of a {@link PreferenceFormat}, or says exactly which field is
 * wrong: the line is one JSON object; the prompt and completions exist, are strings or message lists (the
 * same kind in one record), and are not empty; no unknown fields; a pair's chosen and rejected completions
 * differ; a label is a boolean and a margin a finite number. Lengths are checked after tokenization.
 */
public final class PreferenceParser implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");

    private final PreferenceFormat format;
    private final ChatTemplateSpec template;

    public PreferenceParser(PreferenceFormat format, ChatTemplateSpec template) {
        this.format = format;
        this.template = template;
    }

    /** Parses a JSONL line (1-based {@code line}) from {@code source}. */
    public ParsedPreference parseJson(String source, long line, String text) {
        JsonLine read = JsonLine.read(source, line, text);
        if (read.error() != null) {
            return new ParsedPreference(null, read.error());
        }
        return parse(source, line, read.node(), text);
    }

    /** Parses an already-decoded record (e.g. a Parquet row converted to JSON). */
    public ParsedPreference parse(String source, long line, JsonNode node, String raw) {
        Record record = new Record(source, line, raw);
        try {
            return new ParsedPreference(switch (format) {
                case PAIRED -> paired(record, node);
                case UNPAIRED -> unpaired(record, node);
                case IMPLICIT_PROMPT -> implicitPrompt(record, node);
            }, null);
        } catch (Invalid invalid) {
            return new ParsedPreference(null, invalid.error);
        }
    }

    private PreferenceExample paired(Record record, JsonNode node) throws Invalid {
        record.onlyFields(node, Set.of("prompt", "chosen", "rejected"), Set.of("id", "margin"));
        JsonNode prompt = record.required(node, "prompt");
        JsonNode chosen = record.required(node, "chosen");
        JsonNode rejected = record.required(node, "rejected");
        double margin = 0;
        JsonNode marginNode = node.get("margin");
        if (marginNode != null) {
            if (!marginNode.isNumber() || !Double.isFinite(marginNode.asDouble())) {
                throw record.invalid("margin", "expected a finite number, got " + kind(marginNode));
            }
            margin = marginNode.asDouble();
        }
        if (prompt.isTextual()) {
            record.nonBlankText(prompt, "prompt");
            String chosenText = record.nonBlankText(chosen, "chosen");
            String rejectedText = record.nonBlankText(rejected, "rejected");
            if (chosenText.equals(rejectedText)) {
                throw record.invalid("rejected", "is identical to chosen: a pair needs two different completions");
            }
            return new PreferenceExample.Paired(record.source, record.line,
                    new Example(record.source, record.line, template.promptCompletion(prompt.asText(), chosenText)),
                    new Example(record.source, record.line, template.promptCompletion(prompt.asText(), rejectedText)),
                    margin);
        }
        List<ChatTemplateSpec.Message> context = record.messages(prompt, "prompt", false);
        List<ChatTemplateSpec.Message> chosenTurns = record.completionTurns(chosen, "chosen");
        List<ChatTemplateSpec.Message> rejectedTurns = record.completionTurns(rejected, "rejected");
        checkContents(record, context, "prompt");
        checkContents(record, chosenTurns, "chosen");
        checkContents(record, rejectedTurns, "rejected");
        if (chosenTurns.equals(rejectedTurns)) {
            throw record.invalid("rejected", "is identical to chosen: a pair needs two different completions");
        }
        return new PreferenceExample.Paired(record.source, record.line,
                new Example(record.source, record.line, continuation(record, context, chosenTurns)),
                new Example(record.source, record.line, continuation(record, context, rejectedTurns)), margin);
    }

    /** The pieces of {@code context} then {@code completion}; what the model's template refuses is the record's error. */
    private List<Piece> continuation(Record record, List<ChatTemplateSpec.Message> context,
                                     List<ChatTemplateSpec.Message> completion) throws Invalid {
        try {
            return template.continuation(context, completion);
        } catch (JinjaException e) {
            throw record.invalid("prompt", "the model's chat template " + (e instanceof JinjaException.Raised raised
                    ? "refuses it: " + raised.reason() : "fails on it: " + e.getMessage()));
        } catch (IllegalArgumentException e) {
            throw record.invalid("prompt", e.getMessage());
        }
    }

    private void checkContents(Record record, List<ChatTemplateSpec.Message> messages, String field) throws Invalid {
        for (int i = 0; i < messages.size(); i++) {
            String problem = template.contentProblem(messages.get(i).content());
            if (problem != null) {
                throw record.invalid(field + "[" + i + "].content", problem);
            }
        }
    }

    private PreferenceExample implicitPrompt(Record record, JsonNode node) throws Invalid {
        record.onlyFields(node, Set.of("chosen", "rejected"), Set.of("id", "margin"));
        String chosen = record.nonBlankText(record.text(node, "chosen"), "chosen");
        String rejected = record.nonBlankText(record.text(node, "rejected"), "rejected");
        if (chosen.equals(rejected)) {
            throw record.invalid("rejected", "is identical to chosen: a pair needs two different completions");
        }
        int split = sharedPrompt(chosen, rejected);
        if (split == 0) {
            throw record.invalid("rejected", "shares no prompt with chosen (the texts differ from the first "
                    + "character; give an explicit prompt with data.format=paired)");
        }
        if (split >= chosen.length() || split >= rejected.length()) {
            throw record.invalid(split >= chosen.length() ? "chosen" : "rejected", "is all prompt: nothing follows "
                    + "the text both share");
        }
        ObjectNode explicit = node.deepCopy();
        ((ObjectNode) explicit).put("prompt", chosen.substring(0, split));
        ((ObjectNode) explicit).put("chosen", chosen.substring(split));
        ((ObjectNode) explicit).put("rejected", rejected.substring(split));
        return paired(record, explicit);
    }

    /**
     * Where the shared prompt of two texts ends: after the last {@code "Assistant:"} marker (and the space after
     * it) in their common beginning, else at the last whitespace of it.
     */
    public static int sharedPrompt(String a, String b) {
        int common = 0;
        int limit = Math.min(a.length(), b.length());
        while (common < limit && a.charAt(common) == b.charAt(common)) {
            common++;
        }
        String prefix = a.substring(0, common);
        int marker = prefix.lastIndexOf("Assistant:");
        if (marker >= 0) {
            int end = marker + "Assistant:".length();
            return end < common && prefix.charAt(end) == ' ' ? end + 1 : end;
        }
        if (common == limit) {
            return common;
        }
        int space = prefix.lastIndexOf(' ');
        return space < 0 ? common : space + 1;
    }

    private PreferenceExample unpaired(Record record, JsonNode node) throws Invalid {
        record.onlyFields(node, Set.of("prompt", "completion", "label"), Set.of("id"));
        JsonNode prompt = record.required(node, "prompt");
        JsonNode completion = record.required(node, "completion");
        JsonNode label = record.required(node, "label");
        if (!label.isBoolean()) {
            throw record.invalid("label", "expected true or false, got " + kind(label));
        }
        Example example;
        if (prompt.isTextual()) {
            record.nonBlankText(prompt, "prompt");
            example = new Example(record.source, record.line, template.promptCompletion(prompt.asText(),
                    record.nonBlankText(completion, "completion")));
        } else {
            List<ChatTemplateSpec.Message> context = record.messages(prompt, "prompt", false);
            List<ChatTemplateSpec.Message> turns = record.completionTurns(completion, "completion");
            checkContents(record, context, "prompt");
            checkContents(record, turns, "completion");
            example = new Example(record.source, record.line, continuation(record, context, turns));
        }
        return new PreferenceExample.Unpaired(record.source, record.line, example, label.asBoolean());
    }

    /** A rejected record, thrown to unwind to {@link #parse}. */
    private static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;
        final RecordError error;

        Invalid(RecordError error) {
            super(error.describe(), null, false, false);
            this.error = error;
        }
    }

    /** Where a record came from, and the checks that name it in their errors. */
    private record Record(String source, long line, String raw) {

        Invalid invalid(String field, String reason) {
            return new Invalid(new RecordError(source, line, field, reason, raw));
        }

        void onlyFields(JsonNode node, Set<String> required, Set<String> optional) throws Invalid {
            Iterator<String> names = node.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                if (!required.contains(name) && !optional.contains(name)) {
                    throw invalid(name, "unknown field (expected " + String.join(", ", required.stream().sorted()
                            .toList()) + "; optional " + String.join(", ", optional.stream().sorted().toList()) + ")");
                }
            }
            JsonNode id = node.get("id");
            if (id != null && !id.isTextual()) {
                throw invalid("id", "expected a string, got " + kind(id));
            }
        }

        JsonNode required(JsonNode node, String field) throws Invalid {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                throw invalid(field, value == null ? "missing" : "is null");
            }
            if (field.equals("label")) {
                return value;
            }
            if (!value.isTextual() && !value.isArray()) {
                throw invalid(field, "expected a string or a list of messages, got " + kind(value));
            }
            if (!field.equals("prompt") && value.isTextual() != node.get("prompt").isTextual()) {
                throw invalid(field, node.get("prompt").isTextual()
                        ? "expected a string like the prompt, got a list of messages"
                        : "expected a list of messages like the prompt, got a string");
            }
            return value;
        }

        JsonNode text(JsonNode node, String field) throws Invalid {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) {
                throw invalid(field, value == null ? "missing" : "is null");
            }
            if (!value.isTextual()) {
                throw invalid(field, "expected a string, got " + kind(value));
            }
            return value;
        }

        String nonBlankText(JsonNode value, String field) throws Invalid {
            if (value.asText().isBlank()) {
                throw invalid(field, "is empty");
            }
            return value.asText();
        }

        /** The turns of a message list; {@code assistantOnly} for a completion. */
        List<ChatTemplateSpec.Message> messages(JsonNode list, String field, boolean assistantOnly) throws Invalid {
            if (list.isEmpty()) {
                throw invalid(field, "is empty");
            }
            List<ChatTemplateSpec.Message> messages = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                JsonNode message = list.get(i);
                String path = field + "[" + i + "]";
                if (!message.isObject()) {
                    throw invalid(path, "expected an object, got " + kind(message));
                }
                Iterator<String> names = message.fieldNames();
                while (names.hasNext()) {
                    String name = names.next();
                    if (!name.equals("role") && !name.equals("content")) {
                        throw invalid(path + "." + name, "unknown field (expected content, role)");
                    }
                }
                for (String key : List.of("role", "content")) {
                    JsonNode value = message.get(key);
                    if (value == null || !value.isTextual()) {
                        throw invalid(path + "." + key, value == null ? "missing"
                                : "expected a string, got " + kind(value));
                    }
                }
                String role = message.get("role").asText();
                if (!ROLES.contains(role)) {
                    throw invalid(path + ".role", "unknown role '" + role + "' (expected system, user or assistant)");
                }
                if (assistantOnly && !role.equals("assistant")) {
                    throw invalid(path + ".role", "a completion holds assistant turns only, got '" + role + "'");
                }
                if (role.equals("assistant") && message.get("content").asText().isBlank()) {
                    throw invalid(path + ".content", "assistant turn is empty");
                }
                messages.add(new ChatTemplateSpec.Message(role, message.get("content").asText()));
            }
            return messages;
        }

        List<ChatTemplateSpec.Message> completionTurns(JsonNode list, String field) throws Invalid {
            return messages(list, field, true);
        }
    }

    private static String kind(JsonNode node) {
        return node.isNull() ? "null" : node.getNodeType().toString().toLowerCase();
    }

    private static ParsedPreference reject(String source, long line, String field, String reason, String raw) {
        return new ParsedPreference(null, new RecordError(source, line, field, reason, raw));
    }
}
