package io.whetstone.datasets.records;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PreferenceParserTest {

    private static final String USER = "{\"role\": \"user\", \"content\": \"u\"}";
    private static final String ANSWER_A = "[{\"role\": \"assistant\", \"content\": \"a\"}]";
    private static final String ANSWER_B = "[{\"role\": \"assistant\", \"content\": \"b\"}]";

    private static ParsedPreference parse(PreferenceFormat format, String line) {
        return new PreferenceParser(format, new ChatTemplateSpec()).parseJson("prefs.jsonl", 12, line);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \"a\"                       | -        | not valid JSON",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}{\"prompt\": \"q\"} | - | not valid JSON",
        "PAIRED   | {\"chosen\": \"a\", \"rejected\": \"b\"}                    | prompt   | missing",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \"a\"}                      | rejected | missing",
        "PAIRED   | {\"prompt\": 7, \"chosen\": \"a\", \"rejected\": \"b\"}     | prompt   | expected a string or a list of messages, got number",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \" \", \"rejected\": \"b\"} | chosen   | is empty",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"\"}  | rejected | is empty",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"a\"} | rejected | is identical to chosen",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": null}  | rejected | is null",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"score\": 1} | score | unknown field",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": \"big\"} | margin | expected a finite number",
        "PAIRED   | {\"prompt\": \"p\", \"chosen\": [], \"rejected\": \"b\"}   | chosen   | expected a string like the prompt",
        "PAIRED   | {\"prompt\": [], \"chosen\": [], \"rejected\": []}         | prompt   | is empty",
        "UNPAIRED | {\"prompt\": \"p\", \"completion\": \"a\"}                  | label    | missing",
        "UNPAIRED | {\"prompt\": \"p\", \"completion\": \"a\", \"label\": \"yes\"} | label | expected true or false, got string",
        "UNPAIRED | {\"prompt\": \"p\", \"completion\": \"  \", \"label\": true} | completion | is empty",
        "UNPAIRED | {\"prompt\": \"p\", \"completion\": \"a\", \"label\": true, \"id\": 4} | id | expected a string, got number",
    })
    void rejectsWithFieldAndReason(PreferenceFormat format, String line, String field, String reason) {
        ParsedPreference parsed = parse(format, line);
        assertFalse(parsed.ok(), "expected a rejection for " + line);
        RecordError error = parsed.error();
        assertEquals(field, error.field(), error.describe());
        assertTrue(error.reason().contains(reason), error.describe());
        assertTrue(error.describe().startsWith("prefs.jsonl:12: " + field + ": "), error.describe());
    }

    @Test
    void messageListsAreCheckedTurnByTurn() {
        String badRole = "{\"prompt\": [" + USER + "], \"chosen\": [{\"role\": \"user\", \"content\": \"a\"}], "
                + "\"rejected\": " + ANSWER_B + "}";
        RecordError error = parse(PreferenceFormat.PAIRED, badRole).error();
        assertEquals("chosen[0].role", error.field(), error.describe());
        assertTrue(error.reason().contains("assistant turns only"), error.describe());
        String same = "{\"prompt\": [" + USER + "], \"chosen\": " + ANSWER_A + ", \"rejected\": " + ANSWER_A + "}";
        assertEquals("rejected", parse(PreferenceFormat.PAIRED, same).error().field());
        String unknownRole = "{\"prompt\": [{\"role\": \"bot\", \"content\": \"u\"}], \"chosen\": " + ANSWER_A
                + ", \"rejected\": " + ANSWER_B + "}";
        assertEquals("prompt[0].role", parse(PreferenceFormat.PAIRED, unknownRole).error().field());
        String emptyTurn = "{\"prompt\": [" + USER + "], \"chosen\": [{\"role\": \"assistant\", \"content\": \"\"}], "
                + "\"rejected\": " + ANSWER_B + "}";
        assertEquals("chosen[0].content", parse(PreferenceFormat.PAIRED, emptyTurn).error().field());
    }

    @Test
    void aStringPairSharesTheUntrainedPromptAndTrainsEachCompletion() {
        ParsedPreference parsed = parse(PreferenceFormat.PAIRED,
                "{\"prompt\": \"2+2=\", \"chosen\": \"4\", \"rejected\": \"5\", \"id\": \"q1\", \"margin\": 1.5}");
        assertTrue(parsed.ok(), () -> parsed.error().describe());
        PreferenceExample.Paired pair = (PreferenceExample.Paired) parsed.example();
        assertEquals(List.of(new Piece.Special("<|bos|>", false), new Piece.Text("2+2=", false),
                new Piece.Text("4", true), new Piece.Special("<|eos|>", true)), pair.chosen().pieces());
        assertEquals(new Piece.Text("5", true), pair.rejected().pieces().get(2));
        assertEquals(pair.chosen().pieces().subList(0, 2), pair.rejected().pieces().subList(0, 2));
        assertEquals(1.5, pair.margin());
        assertEquals(12, pair.line());
    }

    @Test
    void aConversationalPairTrainsOnlyTheCompletionsAssistantTurns() {
        String line = "{\"prompt\": [{\"role\": \"system\", \"content\": \"s\"}, " + USER
                + ", {\"role\": \"assistant\", \"content\": \"earlier\"}, " + USER + "], \"chosen\": " + ANSWER_A
                + ", \"rejected\": " + ANSWER_B + "}";
        ParsedPreference parsed = parse(PreferenceFormat.PAIRED, line);
        assertTrue(parsed.ok(), () -> parsed.error().describe());
        PreferenceExample.Paired pair = (PreferenceExample.Paired) parsed.example();
        List<Piece> trained = pair.chosen().pieces().stream().filter(Piece::trainable).toList();
        assertEquals(List.of(new Piece.Text("\na", true), new Piece.Special("<|end|>", true)), trained);
        // the rendering is the SFT chat template's: the same conversation as one messages record
        ChatTemplateSpec template = new ChatTemplateSpec();
        List<ChatTemplateSpec.Message> whole = List.of(new ChatTemplateSpec.Message("system", "s"),
                new ChatTemplateSpec.Message("user", "u"), new ChatTemplateSpec.Message("assistant", "earlier"),
                new ChatTemplateSpec.Message("user", "u"), new ChatTemplateSpec.Message("assistant", "a"));
        List<Piece> sft = template.conversation(whole);
        assertEquals(sft.size(), pair.chosen().pieces().size());
        for (int i = 0; i < sft.size(); i++) {
            Piece expected = sft.get(i);
            Piece actual = pair.chosen().pieces().get(i);
            String text = expected instanceof Piece.Text t ? t.text() : ((Piece.Special) expected).name();
            String actualText = actual instanceof Piece.Text t ? t.text() : ((Piece.Special) actual).name();
            assertEquals(text, actualText, "piece " + i);
            assertEquals(i >= sft.size() - 2, actual.trainable(), "piece " + i + " trained");
        }
    }

    @Test
    void anUnpairedRecordCarriesItsLabel() {
        ParsedPreference good = parse(PreferenceFormat.UNPAIRED, "{\"prompt\": \"p\", \"completion\": \"c\", \"label\": true}");
        ParsedPreference bad = parse(PreferenceFormat.UNPAIRED, "{\"prompt\": [" + USER + "], \"completion\": "
                + ANSWER_A + ", \"label\": false}");
        assertTrue(((PreferenceExample.Unpaired) good.example()).desirable());
        assertFalse(((PreferenceExample.Unpaired) bad.example()).desirable());
        assertEquals(new Piece.Text("c", true), ((PreferenceExample.Unpaired) good.example()).completion().pieces().get(2));
    }

    @Test
    void anImplicitPromptIsTheSharedDialogueUpToTheLastAssistantMarker() {
        String chosen = "\n\nHuman: How do I bake bread?\n\nAssistant: I can help. Start with flour.";
        String rejected = "\n\nHuman: How do I bake bread?\n\nAssistant: I can't help with that.";
        ParsedPreference parsed = parse(PreferenceFormat.IMPLICIT_PROMPT, JSON_PAIR.formatted(
                escape(chosen), escape(rejected)));
        assertTrue(parsed.ok(), () -> parsed.error().describe());
        PreferenceExample.Paired pair = (PreferenceExample.Paired) parsed.example();
        assertEquals(new Piece.Text("\n\nHuman: How do I bake bread?\n\nAssistant: ", false), pair.chosen().pieces().get(1));
        assertEquals(new Piece.Text("I can help. Start with flour.", true), pair.chosen().pieces().get(2));
        assertEquals(new Piece.Text("I can't help with that.", true), pair.rejected().pieces().get(2));
        // without a marker: the last word boundary of the shared text
        assertEquals(6, PreferenceParser.sharedPrompt("Hello world", "Hello word"));
        RecordError none = parse(PreferenceFormat.IMPLICIT_PROMPT, JSON_PAIR.formatted("abc", "xyz")).error();
        assertTrue(none.reason().contains("shares no prompt"), none.describe());
        RecordError prompt = parse(PreferenceFormat.IMPLICIT_PROMPT,
                "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}").error();
        assertEquals("prompt", prompt.field(), prompt.describe());
    }

    private static final String JSON_PAIR = "{\"chosen\": \"%s\", \"rejected\": \"%s\"}";

    private static String escape(String text) {
        return text.replace("\n", "\\n");
    }
}
