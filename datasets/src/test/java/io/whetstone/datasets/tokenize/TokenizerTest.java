package io.whetstone.datasets.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.Assets;
import io.whetstone.datasets.records.Example;
import io.whetstone.datasets.records.Piece;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenizerTest {

    static List<String> texts() throws IOException {
        List<String> texts = new ArrayList<>(List.of("", " ", "   \t\n ", "héllo wörld — ✓ 数学 🙂", "a\u0000b",
                "Natalia sold clips to 48 of her friends in April."));
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(Assets.path("gsm8k_train.jsonl"));
        for (int i = 0; i < 50; i++) {
            texts.add(json.readTree(lines.get(i)).get("answer").asText());
        }
        return texts;
    }

    @Test
    void byteTokenizerRoundTrips() throws IOException {
        ByteTokenizer tokenizer = new ByteTokenizer();
        for (String text : texts()) {
            assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
        }
        assertEquals(263, tokenizer.vocabSize());
        assertEquals(256, tokenizer.bosId());
        assertEquals(257, tokenizer.eosId());
        assertThrows(IllegalArgumentException.class, () -> tokenizer.specialId("<|image|>"));
    }

    @Test
    void byteTokenizerFileLoadsInHuggingFaceTokenizersToTheSameIds() throws IOException {
        ByteTokenizer bytes = new ByteTokenizer();
        Map<String, byte[]> files = bytes.files();
        HfTokenizer hf = HfTokenizer.of(files.get("tokenizer.json"), files.get("tokenizer_config.json"), Map.of());
        assertEquals(bytes.vocabSize(), hf.vocabSize());
        assertEquals(bytes.eosId(), hf.eosId());
        assertEquals(bytes.bosId(), hf.bosId());
        for (String text : texts()) {
            assertArrayEquals(bytes.encode(text), hf.encode(text), text);
            assertEquals(text, hf.decode(hf.encode(text)));
        }
    }

    /** A word-level tokenizer.json with a SentencePiece-style Prepend normalizer and special added tokens. */
    private static byte[] prependTokenizer() {
        return ("{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 0, \"content\": \"<s>\", \"special\": true, "
                + "\"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false}, {\"id\": 1, "
                + "\"content\": \"</s>\", \"special\": true, \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                + "\"normalized\": false}], \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": "
                + "\"Prepend\", \"prepend\": \"\u2581\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, "
                + "\"content\": \"\u2581\"}]}, \"pre_tokenizer\": null, \"post_processor\": null, \"decoder\": null, "
                + "\"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": \"<unk>\", \"fuse_unk\": true, "
                + "\"byte_fallback\": false, \"vocab\": {\"<s>\": 0, \"</s>\": 1, \"<unk>\": 2, \"\u2581\": 3, \"a\": 4, "
                + "\"\u2581a\": 5, \"<\": 6, \">\": 7, \"/\": 8, \"s\": 9}, \"merges\": [\"\u2581 a\"]}}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void continuationsGetNoStartOfTextSpaceAndSpecialStringsStayText() {
        HfTokenizer tokenizer = HfTokenizer.of(prependTokenizer(), null, Map.of("<|bos|>", "<s>", "<|eos|>", "</s>"));
        assertArrayEquals(new int[] {5}, tokenizer.encode("a"), "the start of a text gets the space");
        assertArrayEquals(new int[] {4}, tokenizer.encodeContinuation("a"), "a continuation does not");
        assertArrayEquals(new int[] {5, 5}, tokenizer.encodeContinuation(" a a"));
        // "</s>" typed in a text is the characters, never the end-of-sequence token
        int[] ids = tokenizer.encodeContinuation("</s>");
        assertArrayEquals(new int[] {6, 8, 9, 7}, ids);
        assertEquals(1, tokenizer.eosId());
        assertEquals("a", tokenizer.decode(new int[] {0, 4, 1}), "special ids are skipped in decoding");
    }

    @Test
    void mappedSpecialTokensAreCheckedAndKeptInTheFiles() {
        HfTokenizer base = HfTokenizer.of(prependTokenizer(), null, Map.of("<|bos|>", "<s>", "<|eos|>", "</s>"));
        assertThrows(IllegalArgumentException.class, () -> base.specialId("<|user|>"));
        Tokenizer mapped = base.withSpecialTokens(Map.of("<|user|>", "\u2581a"));
        assertEquals(5, mapped.specialId("<|user|>"));
        assertTrue(!mapped.id().equals(base.id()), "the mapping is part of the identity");
        Map<String, byte[]> files = mapped.files();
        HfTokenizer reloaded = HfTokenizer.of(files.get("tokenizer.json"), files.get("tokenizer_config.json"), Map.of());
        assertEquals(5, reloaded.specialId("<|user|>"));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> base.withSpecialTokens(Map.of("<|end|>", "nope")));
        assertTrue(unknown.getMessage().contains("<|end|> is mapped to 'nope'"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ByteTokenizer().withSpecialTokens(Map.of("<|user|>", "a")));
    }

    @Test
    void tokenizedExampleMarksTrainableTokens() {
        ByteTokenizer tokenizer = new ByteTokenizer();
        Example example = new Example("f", 1, List.of(new Piece.Special("<|bos|>", false),
                new Piece.Text("ab", false), new Piece.Text("c", true), new Piece.Special("<|eos|>", true)));
        TokenizedExample tokenized = TokenizedExample.of(example, tokenizer);
        assertArrayEquals(new int[] {256, 'a', 'b', 'c', 257}, tokenized.ids());
        assertArrayEquals(new boolean[] {false, false, false, true, true}, tokenized.trainable());
        assertEquals(2, tokenized.trainableTokens());
        assertTrue(tokenizer.isSpecial(257));
    }

    @Test
    void gpt2BpeEncodesLikeOpenAiAndRoundTrips() throws IOException {
        TiktokenTokenizer gpt2 = new TiktokenTokenizer();
        assertArrayEquals(new int[] {15496, 995}, gpt2.encode("Hello world"));
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50256, gpt2.eosId());
        for (String text : texts()) {
            assertEquals(text, gpt2.decode(gpt2.encode(text)));
        }
        assertArrayEquals(gpt2.encode("<|endoftext|>"), gpt2.encode("<|endoftext|>"));
        assertTrue(java.util.Arrays.stream(gpt2.encode("<|endoftext|>")).noneMatch(id -> id == 50256),
                "special tokens are never produced from text");
    }
}
