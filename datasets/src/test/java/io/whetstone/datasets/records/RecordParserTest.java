package io.whetstone.datasets.records;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RecordParserTest {

    private static RecordError error(Format format, String line) {
        Parsed parsed = new RecordParser(format, new ChatTemplateSpec()).parseJson("data.jsonl", 7, line);
        assertFalse(parsed.ok(), "expected a rejection for " + line);
        assertEquals("data.jsonl", parsed.error().source());
        assertEquals(7, parsed.error().line());
        return parsed.error();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "PROMPT_COMPLETION | {\"prompt\": \"a\"                          | -          | not valid JSON",
        "PROMPT_COMPLETION | [1, 2]                                     | -          | expected a JSON object",
        "PROMPT_COMPLETION | {\"prompt\": \"a\", \"completion\": \"b\"}{\"prompt\": \"c\"} | - | not valid JSON",
        "PROMPT_COMPLETION | {\"prompt\": \"a\", \"completion\": \"b\"} trailing | -       | not valid JSON",
        "PROMPT_COMPLETION | {\"prompt\": \"a\"}                        | completion | missing",
        "PROMPT_COMPLETION | {\"prompt\": 3, \"completion\": \"b\"}     | prompt     | expected a string, got number",
        "PROMPT_COMPLETION | {\"prompt\": \"a\", \"completion\": \"  \"} | completion | is empty",
        "PROMPT_COMPLETION | {\"prompt\": \"a\", \"completion\": \"b\", \"extra\": 1} | extra | unknown field",
        "GSM8K             | {\"question\": \"q\", \"answer\": null}   | answer     | expected a string, got null",
        "MESSAGES          | {\"messages\": {}}                         | messages   | expected an array",
        "MESSAGES          | {\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}] } | messages[0].role | unknown role 'bot'",
        "MESSAGES          | {\"messages\": [{\"role\": \"user\", \"content\": \"x\"}] } | messages   | has no assistant turn",
        "MESSAGES          | {\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\"}]} | messages[1].content | missing",
    })
    void rejectsWithFieldAndReason(Format format, String line, String field, String reason) {
        RecordError error = error(format, line);
        assertEquals(field, error.field(), error.describe());
        assertTrue(error.reason().contains(reason), error.describe());
        assertTrue(error.describe().startsWith("data.jsonl:7: " + field + ": "), error.describe());
    }

    @Test
    void promptCompletionBecomesUntrainedPromptAndTrainedCompletion() {
        Parsed parsed = new RecordParser(Format.PROMPT_COMPLETION, new ChatTemplateSpec())
                .parseJson("f", 1, "{\"prompt\": \"2+2=\", \"completion\": \"4\"}");
        assertTrue(parsed.ok());
        assertEquals(List.of(new Piece.Special("<|bos|>", false), new Piece.Text("2+2=", false),
                new Piece.Text("4", true), new Piece.Special("<|eos|>", true)), parsed.example().pieces());
    }

    @Test
    void onlyAssistantTurnsAreTrainedInConversations() {
        Parsed parsed = new RecordParser(Format.MESSAGES, new ChatTemplateSpec()).parseJson("f", 1,
                "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"u\"},"
                        + " {\"role\": \"assistant\", \"content\": \"a\"}]}");
        assertTrue(parsed.ok());
        List<Piece> trained = parsed.example().pieces().stream().filter(Piece::trainable).toList();
        assertEquals(List.of(new Piece.Text("\na", true), new Piece.Special("<|end|>", true)), trained);
    }
}
