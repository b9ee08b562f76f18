package io.whetstone.datasets.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Python and Jinja semantics chat templates rely on, each snippet compared with what transformers'
 * chat-template environment renders ({@code chat-templates/jinja_goldens.json}, from make_jinja_goldens.py).
 */
class JinjaTemplateTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> snippetsRenderAsJinja2Does() throws IOException {
        JsonNode goldens;
        try (InputStream in = getClass().getResourceAsStream("/chat-templates/jinja_goldens.json")) {
            goldens = JSON.readTree(in);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> context = JSON.convertValue(goldens.path("context"), Map.class);
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode golden : goldens.path("cases")) {
            String source = golden.path("template").asText();
            tests.add(DynamicTest.dynamicTest(source, () -> assertEquals(golden.path("text").asText(),
                    JinjaTemplate.parse(source).render(context).text())));
        }
        assertEquals(28, tests.size());
        return tests.stream();
    }

    @Test
    void syntaxErrorsNameTheLine() {
        JinjaException error = assertThrows(JinjaException.class,
                () -> JinjaTemplate.parse("line one\n{% if x %}\n{{ a + }}\n{% endif %}"));
        assertEquals(3, error.line(), error.getMessage());
        JinjaException unclosed = assertThrows(JinjaException.class,
                () -> JinjaTemplate.parse("{% for x in xs %}\n{{ x }}\n"));
        assertTrue(unclosed.getMessage().contains("endfor"), unclosed.getMessage());
        JinjaException unknown = assertThrows(JinjaException.class,
                () -> JinjaTemplate.parse("{% include 'other.jinja' %}"));
        assertTrue(unknown.getMessage().contains("include"), unknown.getMessage());
    }

    @Test
    void renderErrorsNameTheLineAndTheProblem() {
        JinjaException filter = assertThrows(JinjaException.class,
                () -> JinjaTemplate.parse("a\n{{ x | frobnicate }}").render(Map.of("x", 1)));
        assertEquals(2, filter.line());
        assertTrue(filter.getMessage().contains("frobnicate"), filter.getMessage());
        JinjaException undefined = assertThrows(JinjaException.class,
                () -> JinjaTemplate.parse("{{ missing.attribute }}").render(Map.of()));
        assertTrue(undefined.getMessage().contains("undefined"), undefined.getMessage());
        JinjaException types = assertThrows(JinjaException.class,
                () -> JinjaTemplate.parse("{{ 'a' + 1 }}").render(Map.of()));
        assertTrue(types.getMessage().contains("string and integer"), types.getMessage());
    }

    @Test
    void contentIsDataNotTemplate() {
        String rendered = JinjaTemplate.parse("[{{ text }}]").render(Map.of("text", "{{ 1 + 1 }} {% if %}")).text();
        assertEquals("[{{ 1 + 1 }} {% if %}]", rendered);
    }
}
