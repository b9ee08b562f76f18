package io.whetstone.datasets.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * GPT-2-style vocab.json and merges.txt, converted, tokenize exactly as transformers' GPT2Tokenizer does: golden ids
 * from {@code bytelevel-bpe/make_golden.py} (a byte-level BPE trained there with Hugging Face tokenizers, encoded by
 * transformers' slow and fast GPT-2 tokenizers, which agree), for files alone and with a tokenizer_config.json.
 */
class ByteLevelBpeFilesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ByteLevelBpeFilesTest.class.getResourceAsStream("/bytelevel-bpe/" + name)) {
            return in == null ? null : in.readAllBytes();
        }
    }

    private static HfTokenizer load(String dir) throws IOException {
        ByteLevelBpeFiles.Converted converted = ByteLevelBpeFiles.convert(dir, resource(dir + "/vocab.json"),
                resource(dir + "/merges.txt"), null, resource(dir + "/tokenizer_config.json"));
        return HfTokenizer.of(converted.tokenizerJson(), converted.tokenizerConfig(), Map.of());
    }

    @Test
    void encodesAsTransformersGpt2Tokenizer() throws IOException {
        JsonNode golden = JSON.readTree(resource("golden.json"));
        for (String dir : new String[] {"plain", "configured"}) {
            HfTokenizer tokenizer = load(dir);
            JsonNode expected = golden.get(dir);
            for (int i = 0; i < golden.get("probes").size(); i++) {
                String text = golden.get("probes").get(i).asText();
                int[] ids = JSON.convertValue(expected.get("ids").get(i), int[].class);
                assertArrayEquals(ids, tokenizer.encode(text), dir + ": '" + text + "'");
                if (dir.equals("plain")) {
                    assertEquals(text, tokenizer.decode(ids), "decodes back");
                }
            }
            assertEquals(expected.get("vocab_size").asInt(), tokenizer.vocabSize(), dir);
            assertEquals(expected.get("eos_id").asInt(), tokenizer.specialId("<|eos|>"), dir);
            assertTrue(tokenizer.isSpecial(expected.get("eos_id").asInt()));
        }
        HfTokenizer configured = load("configured");
        assertEquals(golden.get("configured").get("pad_id").asInt(), configured.specialId("<|pad|>"));
        assertEquals(configured.specialId("<|eos|>"), load("plain").specialId("<|pad|>"),
                "without a pad token, padding is end-of-text");
    }

    @Test
    void addedTokensJsonExtendsTheVocabulary() throws IOException {
        ByteLevelBpeFiles.Converted converted = ByteLevelBpeFiles.convert("dir", resource("plain/vocab.json"),
                resource("plain/merges.txt"), "{\"<sep>\": 420}".getBytes(StandardCharsets.UTF_8),
                "{\"pad_token\": \"<sep>\"}".getBytes(StandardCharsets.UTF_8));
        HfTokenizer tokenizer = HfTokenizer.of(converted.tokenizerJson(), converted.tokenizerConfig(), Map.of());
        assertEquals(421, tokenizer.vocabSize());
        assertEquals(420, tokenizer.specialId("<|pad|>"));
        assertTrue(tokenizer.isSpecial(420), "a token the config names as pad is special");
    }

    @Test
    void malformedFilesAreNamedWithTheirLine() throws IOException {
        byte[] vocab = resource("plain/vocab.json");
        IllegalArgumentException badLine = assertThrows(IllegalArgumentException.class, () -> ByteLevelBpeFiles
                .convert("m", vocab, "#version: 0.2\nh e\nno-space-here\n".getBytes(StandardCharsets.UTF_8), null,
                        null));
        assertEquals("m/merges.txt:3: a merge is two tokens separated by one space, got 'no-space-here'",
                badLine.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> ByteLevelBpeFiles
                .convert("m", vocab, "#version: 0.2\nh e\nQ Z\n".getBytes(StandardCharsets.UTF_8), null, null));
        assertTrue(unknown.getMessage().startsWith("m/merges.txt:3: 'QZ' is not in vocab.json"), unknown.getMessage());
        IllegalArgumentException badId = assertThrows(IllegalArgumentException.class, () -> ByteLevelBpeFiles
                .convert("m", "{\"a\": \"x\"}".getBytes(StandardCharsets.UTF_8), new byte[0], null, null));
        assertTrue(badId.getMessage().startsWith("m/vocab.json: token 'a': id must be"), badId.getMessage());
        IllegalArgumentException badEos = assertThrows(IllegalArgumentException.class, () -> ByteLevelBpeFiles
                .convert("m", vocab, resource("plain/merges.txt"),
                        null, "{\"eos_token\": \"</s>\"}".getBytes(StandardCharsets.UTF_8)));
        assertTrue(badEos.getMessage().contains("eos_token '</s>' is neither in vocab.json"), badEos.getMessage());
    }
}
