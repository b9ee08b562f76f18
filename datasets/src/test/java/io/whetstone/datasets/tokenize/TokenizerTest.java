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
