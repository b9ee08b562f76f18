package io.whetstone.jobs.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.tokenize.HfTokenizer;
import io.whetstone.datasets.tokenize.SentencePieceTokenizer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.cli.Whetstone;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Real models in and out: the stories260K GGUF, its tokenizer, and conversion to a Hugging Face directory. */
class ModelSourcesTest {

    private static final int[] GREEDY = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};

    private static Path stories() {
        return Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf");
    }

    private static List<String> texts() throws IOException {
        List<String> texts = new ArrayList<>(List.of("", " ", "   ", "Once upon a time", "héllo wörld — ✓ 数学 🙂",
                "a\tb\nc", "Lily's dog, Max, ran 3 km!"));
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(Path.of(System.getProperty("whetstone.assets", "../shared/assets"),
                "gsm8k_test.jsonl"));
        for (int i = 0; i < 40; i++) {
            texts.add(json.readTree(lines.get(i)).get("question").asText());
        }
        return texts;
    }

    @Test
    void ggufVocabularyDecodesTheDocumentedStoryAndRoundTrips() throws IOException {
        HadoopFiles files = new HadoopFiles(new Configuration());
        CheckpointStore.ModelAndTokenizer model = ModelSources.load(files, stories().toUri().toString());
        Tokenizer tokenizer = model.tokenizer();
        assertEquals(512, tokenizer.vocabSize());
        assertEquals(1, tokenizer.bosId());
        assertEquals(2, tokenizer.eosId());
        String story = tokenizer.decode(GREEDY);
        assertTrue("Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
                .startsWith(story), story);
        assertEquals("Once upon a time, there was a", story.substring(0, 29));
        for (String text : texts()) {
            assertEquals(text, tokenizer.decode(tokenizer.encode(text)), text);
        }
        int[] once = tokenizer.encode("Once upon a time");
        assertArrayEquals(new int[] {403, 407, 261, 378}, once);
    }

    @Test
    void writtenTokenizerJsonEncodesLikeTheSentencePieceTokenizerInHuggingFaceTokenizers() throws IOException {
        HadoopFiles files = new HadoopFiles(new Configuration());
        SentencePieceTokenizer spm = (SentencePieceTokenizer) ModelSources.load(files, stories().toUri().toString())
                .tokenizer();
        Map<String, byte[]> written = spm.files();
        HfTokenizer hf = HfTokenizer.of(written.get("tokenizer.json"), written.get("tokenizer_config.json"), Map.of());
        assertEquals(spm.bosId(), hf.bosId());
        assertEquals(spm.eosId(), hf.eosId());
        for (String text : texts()) {
            assertArrayEquals(spm.encode(text), hf.encode(text), text);
            assertEquals(spm.decode(spm.encode(text)), hf.decode(hf.encode(text)), text);
        }
    }

    @Test
    void convertWritesAHuggingFaceDirectoryWithTheSameModel(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("stories-hf");
        assertEquals(0, Whetstone.execute("convert", "--from", stories().toString(), "--to", out.toString()));
        for (String name : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            assertTrue(Files.exists(out.resolve(name)), name);
        }
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("llama", config.get("model_type").asText());
        assertEquals(4, config.get("num_key_value_heads").asInt());
        assertEquals(8, config.get("num_attention_heads").asInt());
        assertEquals(172, config.get("intermediate_size").asInt());
        assertEquals(1e-5, config.get("rms_norm_eps").asDouble(), 1e-9);
        assertEquals(10000.0, config.get("rope_theta").asDouble());

        HadoopFiles files = new HadoopFiles(new Configuration());
        CheckpointStore.ModelAndTokenizer fromGguf = ModelSources.load(files, stories().toString());
        CheckpointStore.ModelAndTokenizer fromHf = ModelSources.load(files, out.toString());
        assertEquals(fromGguf.config(), fromHf.config());
        int[] tokens = {1, 403, 407, 261, 378, 432, 383, 286, 261};
        int[] targets = new int[tokens.length];
        java.util.Arrays.fill(targets, -1);
        try (Transformer a = new Transformer(fromGguf.config(), EngineOptions.fp32(1));
             Transformer b = new Transformer(fromHf.config(), EngineOptions.fp32(1))) {
            TrainingState.copyInto(fromGguf.params(), a.parameters().params());
            TrainingState.copyInto(fromHf.params(), b.parameters().params());
            INDArray logitsA = a.forward(tokens, targets, 1, tokens.length).logits().dup();
            INDArray logitsB = b.forward(tokens, targets, 1, tokens.length).logits();
            assertEquals(logitsA, logitsB);
        }
        assertEquals(fromGguf.tokenizer().id(), fromHf.tokenizer().id(), "the same SentencePiece vocabulary");
        // The converted tokenizer.json read as any Hugging Face tokenizer (tokenizer.path of a student trained from
        // scratch beside a GGUF teacher) is the same tokenizer: identity follows the vocabulary and its rules.
        io.whetstone.datasets.tokenize.Tokenizer plainHf = io.whetstone.jobs.sft.Tokenizers.load(
                new io.whetstone.jobs.config.TokenizerSpec("hf", out.toString(), java.util.Map.of()), files);
        assertTrue(plainHf instanceof io.whetstone.datasets.tokenize.HfTokenizer);
        assertEquals(fromGguf.tokenizer().id(), plainHf.id());
        for (String probe : io.whetstone.datasets.tokenize.TokenizerIdentity.PROBES) {
            // a piece continuing a sequence gets no start-of-text space, and "</s>" in text stays text, in both
            assertArrayEquals(fromGguf.tokenizer().encodeContinuation(probe), plainHf.encodeContinuation(probe), probe);
        }
        assertTrue(!plainHf.id().equals(new io.whetstone.datasets.tokenize.ByteTokenizer().id()));
        for (String text : texts()) {
            assertArrayEquals(fromGguf.tokenizer().encode(text), fromHf.tokenizer().encode(text), text);
        }
    }

    @Test
    void shardedSafetensorsLoadLikeOneFile(@TempDir Path dir) throws IOException {
        HadoopFiles files = new HadoopFiles(new Configuration());
        CheckpointStore.ModelAndTokenizer stories = ModelSources.load(files, stories().toString());
        Path single = dir.resolve("single");
        Files.createDirectories(single);
        new CheckpointStore(files, single.toString()).writeModel(new org.apache.hadoop.fs.Path(single.toUri()),
                stories.params(), stories.config(), stories.tokenizer());
        java.util.Map<String, io.whetstone.models.checkpoint.Tensor> tensors = ModelSources.read(files,
                new org.apache.hadoop.fs.Path(single.resolve("model.safetensors").toUri()));
        Path sharded = dir.resolve("sharded");
        Files.createDirectories(sharded);
        for (String name : List.of("config.json", "tokenizer.json", "tokenizer_config.json",
                SentencePieceTokenizer.VOCABULARY_FILE)) {
            Files.copy(single.resolve(name), sharded.resolve(name));
        }
        java.util.Map<String, io.whetstone.models.checkpoint.Tensor> first = new java.util.LinkedHashMap<>();
        java.util.Map<String, io.whetstone.models.checkpoint.Tensor> second = new java.util.LinkedHashMap<>();
        com.fasterxml.jackson.databind.node.ObjectNode index = new ObjectMapper().createObjectNode();
        com.fasterxml.jackson.databind.node.ObjectNode weightMap = index.putObject("weight_map");
        int i = 0;
        for (var entry : tensors.entrySet()) {
            boolean inFirst = i++ % 2 == 0;
            (inFirst ? first : second).put(entry.getKey(), entry.getValue());
            weightMap.put(entry.getKey(), inFirst ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        try (var out = Files.newOutputStream(sharded.resolve("model-00001-of-00002.safetensors"))) {
            io.whetstone.models.checkpoint.Safetensors.write(out, first, Map.of());
        }
        try (var out = Files.newOutputStream(sharded.resolve("model-00002-of-00002.safetensors"))) {
            io.whetstone.models.checkpoint.Safetensors.write(out, second, Map.of());
        }
        Files.writeString(sharded.resolve("model.safetensors.index.json"), index.toString());
        CheckpointStore.ModelAndTokenizer loaded = ModelSources.load(files, sharded.toString());
        assertArrayEquals(stories.params(), loaded.params(), 0f);
    }
    /**
     * A directory with transformers' slow-tokenizer files (vocab.json, merges.txt) and no tokenizer.json: its own
     * byte-level BPE, read as a checkpoint's tokenizer and as tokenizer.path, never GPT-2's vocabulary assumed; one
     * file without the other is named.
     */
    @Test
    void vocabularyAndMergesFilesAreTheirOwnTokenizer(@TempDir Path dir) throws IOException {
        HadoopFiles files = new HadoopFiles(new Configuration());
        Path bpe = Files.createDirectories(dir.resolve("bpe"));
        Files.writeString(bpe.resolve("vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2, \"\u0120\": 3, "
                + "\"\u0120ab\": 4, \"<|endoftext|>\": 5}");
        Files.writeString(bpe.resolve("merges.txt"), "#version: 0.2\na b\n\u0120 ab\n");
        Tokenizer tokenizer = CheckpointStore.loadTokenizer(files, bpe.toString());
        assertArrayEquals(new int[] {2, 4, 0}, tokenizer.encode("ab aba"));
        assertEquals(6, tokenizer.vocabSize());
        assertEquals(5, tokenizer.specialId("<|eos|>"));
        assertEquals("ab aba", tokenizer.decode(new int[] {2, 4, 0}));
        Tokenizer configured = io.whetstone.jobs.sft.Tokenizers.load(new io.whetstone.jobs.config.TokenizerSpec("hf",
                bpe.toString(), Map.of()), files);
        assertArrayEquals(new int[] {2, 4, 0}, configured.encode("ab aba"));

        Files.delete(bpe.resolve("vocab.json"));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> CheckpointStore.loadTokenizer(files, bpe.toString()));
        assertTrue(missing.getMessage().contains("has merges.txt but no vocab.json"), missing.getMessage());
    }
}
