package io.whetstone.datasets.records;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.jinja.JinjaException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Real chat templates (Qwen2.5, Qwen3, Llama 3/3.1/3.2, Phi-3, Gemma, Gemma 3, SmolLM2, Mistral v0.1,
 * DeepSeek-R1-Distill, and TRL's generation-marked training variants) rendered by this renderer against
 * transformers' own renderings in {@code chat-templates/goldens.json} (made by make_chat_goldens.py):
 * text and generation spans identical, and the same refusals.
 */
class ModelChatTemplateGoldenTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> rendersAsTransformersDoes() throws IOException {
        JsonNode goldens = JSON.readTree(resource("goldens.json"));
        List<DynamicTest> tests = new ArrayList<>();
        int index = 0;
        for (JsonNode golden : goldens.path("cases")) {
            String name = index++ + " " + golden.path("template").asText() + " agp="
                    + golden.path("add_generation_prompt").asBoolean();
            tests.add(DynamicTest.dynamicTest(name, () -> check(golden)));
        }
        assertEquals(157, tests.size(), "golden cases");
        return tests.stream();
    }

    /** Every template of a TRL wheel against transformers (hand-run: see make_all_trl_goldens.py). */
    @TestFactory
    Stream<DynamicTest> everyTrlTemplate() throws IOException {
        String dir = System.getProperty("whetstone.trl.templates");
        org.junit.jupiter.api.Assumptions.assumeTrue(dir != null, "set -Dwhetstone.trl.templates to run");
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode golden : JSON.readTree(java.nio.file.Path.of(dir, "all.json").toFile())) {
            String file = golden.path("template").asText();
            tests.add(DynamicTest.dynamicTest(file + " agp=" + golden.path("agp").asBoolean(), () -> {
                String source = java.nio.file.Files.readString(java.nio.file.Path.of(dir, "tpl", file));
                ModelChatTemplate template = ModelChatTemplate.of(source, Map.of("bos_token", "<BOS>", "eos_token",
                        "<EOS>"), List.of(), Instant.parse("2026-12-02T00:00:00Z"));
                List<ChatTemplateSpec.Message> messages = new ArrayList<>();
                for (JsonNode message : golden.path("messages")) {
                    messages.add(new ChatTemplateSpec.Message(message.path("role").asText(),
                            message.path("content").asText()));
                }
                Map<String, Object> kwargs = Map.of("date_string", "26 Jul 2024");
                boolean generationPrompt = golden.path("agp").asBoolean();
                if (golden.has("error")) {
                    assertThrows(JinjaException.class, () -> template.render(messages, generationPrompt, kwargs));
                    return;
                }
                var rendered = template.render(messages, generationPrompt, kwargs);
                assertEquals(golden.path("text").asText(), rendered.text());
                List<List<Integer>> spans = new ArrayList<>();
                rendered.generationSpans().forEach(span -> spans.add(List.of(span[0], span[1])));
                assertEquals(JSON.convertValue(golden.path("spans"), List.class), spans);
            }));
        }
        return tests.stream();
    }

    private static void check(JsonNode golden) throws IOException {
        String source = new String(resource(golden.path("template").asText() + ".jinja"), StandardCharsets.UTF_8);
        Map<String, String> special = new LinkedHashMap<>();
        golden.path("special").fields().forEachRemaining(entry -> special.put(entry.getKey(), entry.getValue().asText()));
        ModelChatTemplate template = ModelChatTemplate.of(source, special, List.of(), Instant.parse("2026-12-02T10:00:00Z"));
        List<ChatTemplateSpec.Message> messages = new ArrayList<>();
        for (JsonNode message : golden.path("messages")) {
            messages.add(new ChatTemplateSpec.Message(message.path("role").asText(), message.path("content").asText()));
        }
        Map<String, Object> kwargs = JSON.convertValue(golden.path("kwargs"), Map.class);
        boolean generationPrompt = golden.path("add_generation_prompt").asBoolean();
        if (golden.has("error")) {
            JinjaException.Raised raised = assertThrows(JinjaException.Raised.class,
                    () -> template.render(messages, generationPrompt, kwargs));
            assertEquals(golden.path("error").asText(), raised.reason());
            return;
        }
        var rendered = template.render(messages, generationPrompt, kwargs);
        assertEquals(golden.path("text").asText(), rendered.text());
        List<List<Integer>> spans = new ArrayList<>();
        rendered.generationSpans().forEach(span -> spans.add(List.of(span[0], span[1])));
        assertEquals(JSON.convertValue(golden.path("generation"), List.class), spans);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ModelChatTemplateGoldenTest.class.getResourceAsStream("/chat-templates/" + name)) {
            if (in == null) {
                throw new IOException("missing test resource chat-templates/" + name);
            }
            return in.readAllBytes();
        }
    }
}
