package io.whetstone.jobs.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.tokenize.HfTokenizer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.TokenizerSpec;
import io.whetstone.jobs.io.HadoopFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tokenizer.chat_template resolved on the driver: which layout chats get, and what checkpoints carry. */
class ChatTemplatesTest {

    private static final String JSON = "{\"version\": \"1.0\", \"added_tokens\": ["
            + "{\"id\": 0, \"content\": \"<s>\", \"special\": true}, {\"id\": 1, \"content\": \"</s>\", \"special\": true},"
            + "{\"id\": 2, \"content\": \"<|system|>\", \"special\": true}, {\"id\": 3, \"content\": \"<|user|>\", "
            + "\"special\": true}, {\"id\": 4, \"content\": \"<|assistant|>\", \"special\": true}, {\"id\": 5, "
            + "\"content\": \"<|end|>\", \"special\": true}], \"normalizer\": null, \"pre_tokenizer\": "
            + "{\"type\": \"Whitespace\"}, \"model\": {\"type\": \"WordLevel\", \"vocab\": {\"<s>\": 0, \"</s>\": 1, "
            + "\"<|system|>\": 2, \"<|user|>\": 3, \"<|assistant|>\": 4, \"<|end|>\": 5, \"<unk>\": 6, \"hi\": 7}, "
            + "\"unk_token\": \"<unk>\"}}";
    private static final String CONFIG = "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";

    private static Tokenizer tokenizer(String config) {
        return HfTokenizer.of(JSON.getBytes(StandardCharsets.UTF_8), config.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    private static TokenizerSpec spec(String chatTemplate) {
        return new TokenizerSpec("auto", "", Map.of(), chatTemplate);
    }

    @Test
    void whetstoneMarkersAreCarriedAsAJinjaTemplateAndReadBackAsMarkers(@TempDir Path dir) {
        HadoopFiles files = new HadoopFiles(new Configuration());
        ChatTemplates.Resolved first = ChatTemplates.resolve(spec("auto"), tokenizer(CONFIG), files, dir.toString());
        assertTrue(first.spec().model().isEmpty(), "no template of its own: whetstone's markers");
        String carried = first.tokenizer().chatTemplate().orElseThrow();
        assertTrue(ChatTemplateSpec.isMarkersTemplate(carried), carried);
        assertTrue(carried.contains("'<|user|>'") && carried.contains("'<|end|>'"), carried);
        // a checkpoint of that run, read again with auto: still the markers (a resumed run lays out data as before)
        ChatTemplates.Resolved again = ChatTemplates.resolve(spec("auto"), first.tokenizer(), files, dir.toString());
        assertTrue(again.spec().model().isEmpty());
        // model: the carried template itself
        assertTrue(ChatTemplates.resolve(spec("model"), first.tokenizer(), files, dir.toString()).spec().model()
                .isPresent());
    }

    @Test
    void aModelsOwnTemplateIsUsedUnlessWhetstoneIsAsked(@TempDir Path dir) throws Exception {
        HadoopFiles files = new HadoopFiles(new Configuration());
        String own = "{{ bos_token }}{% for m in messages %}{{ m.role + ': ' + m.content + eos_token }}{% endfor %}";
        Tokenizer withOwn = tokenizer(CONFIG.replace("}", ", \"chat_template\": \"" + own + "\"}"));
        assertTrue(ChatTemplates.resolve(spec("auto"), withOwn, files, dir.toString()).spec().model().isPresent());
        assertTrue(Files.exists(dir.resolve(ChatTemplates.DATE_FILE)), "strftime_now's date is kept in the run");
        ChatTemplates.Resolved markers = ChatTemplates.resolve(spec("whetstone"), withOwn, files, dir.toString());
        assertTrue(markers.spec().model().isEmpty());
        assertTrue(ChatTemplateSpec.isMarkersTemplate(markers.tokenizer().chatTemplate().orElseThrow()),
                "trained with the markers, the checkpoint must not claim the model's own template");
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> ChatTemplates.resolve(spec("model"), tokenizer(CONFIG), files, dir.toString()));
        assertTrue(none.getMessage().contains("no chat template"), none.getMessage());
        Path broken = dir.resolve("broken.jinja");
        Files.writeString(broken, "{% for m in messages %}{{ m.content }}");
        IllegalArgumentException syntax = assertThrows(IllegalArgumentException.class,
                () -> ChatTemplates.resolve(spec(broken.toUri().toString()), tokenizer(CONFIG), files, dir.toString()));
        assertTrue(syntax.getMessage().contains("endfor"), syntax.getMessage());
    }

    @Test
    void markersMappedToOrdinaryTokensGiveNoTemplate(@TempDir Path dir) {
        Tokenizer mapped = tokenizer(CONFIG).withSpecialTokens(Map.of("<|user|>", "hi"));
        ChatTemplates.Resolved resolved = ChatTemplates.resolve(spec("whetstone"), mapped, new HadoopFiles(
                new Configuration()), dir.toString());
        assertFalse(resolved.tokenizer().chatTemplate().isPresent(), "'hi' is text: a template would re-tokenize it");
        assertEquals(mapped.id(), resolved.tokenizer().id());
    }

    @Test
    void aChatTemplateJinjaFileBesideTheConfigIsTheTokenizersTemplate(@TempDir Path dir) throws Exception {
        HadoopFiles files = new HadoopFiles(new Configuration());
        org.apache.hadoop.fs.Path hadoopDir = new org.apache.hadoop.fs.Path(dir.toUri());
        byte[] config = CONFIG.getBytes(StandardCharsets.UTF_8);
        assertEquals(config, io.whetstone.jobs.io.CheckpointStore.withChatTemplateFile(files, hadoopDir, config));
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ bos_token }}{{ messages[0].content }}");
        byte[] merged = io.whetstone.jobs.io.CheckpointStore.withChatTemplateFile(files, hadoopDir, config);
        assertEquals("{{ bos_token }}{{ messages[0].content }}", tokenizer(new String(merged, StandardCharsets.UTF_8))
                .chatTemplate().orElseThrow());
        // a template in the config wins, as in transformers
        String own = CONFIG.replace("}", ", \"chat_template\": \"own\"}");
        assertEquals("own", tokenizer(new String(io.whetstone.jobs.io.CheckpointStore.withChatTemplateFile(files,
                hadoopDir, own.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8)).chatTemplate().orElseThrow());
    }
}
