package io.whetstone.jobs.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SFT starting from the real pretrained stories260K GGUF model, with its own tokenizer. */
class PretrainedSftTest {

    @Test
    void fineTunesTheGgufModelAndSavesItWithItsTokenizer(@TempDir Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            lines.add("{\"prompt\": \"Once upon a time, there was a dog named Max" + (i % 3 == 0 ? "" : " " + i)
                    + ".\", \"completion\": \" Max liked to run in the park with his red ball.\"}");
        }
        Path data = TestData.write(dir, "stories.jsonl", lines);
        String gguf = Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf")
                .toUri().toString();
        List<String> settings = new ArrayList<>(List.of("run.dir=" + dir.resolve("run").toUri(), "data.path=" + data.toUri(),
                "data.seq_len=64", "model.init=" + gguf, "train.rounds=6", "train.averaging_frequency=2",
                "train.batch_size_per_worker=4", "train.lr=0.002", "train.warmup_steps=2", "spark.partitions=2",
                "spark.threads_per_task=1", "checkpoint.every_rounds=3"));
        SftResult result = new SftJob(SparkTestSession.get(), SftConfig.load(null, settings)).run();
        assertEquals(512, result.config().vocabSize());
        assertTrue(result.tokenizer() instanceof io.whetstone.datasets.tokenize.SentencePieceTokenizer,
                result.tokenizer().id());
        assertTrue(result.lastLoss() < result.firstLoss() * 0.7, result.firstLoss() + " -> " + result.lastLoss());
        CheckpointStore.ModelAndTokenizer saved = CheckpointStore.loadModel(new HadoopFiles(new Configuration()),
                result.checkpoint());
        assertEquals(result.tokenizer().id(), saved.tokenizer().id());
        assertEquals(result.config(), saved.config());
    }

    /**
     * The trial from issue 13: messages SFT of the real GGUF model, whose vocabulary has no chat markers. Without a
     * mapping it is one configuration error naming the markers (not one error per record); with
     * tokenizer.special_tokens mapping them to pieces of the vocabulary it trains, and the checkpoint keeps the map.
     */
    @Test
    void messagesOnAGgufModelNeedTheMarkersMappedOnceAndKeepTheMapping(@TempDir Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            lines.add("{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me about Tim " + i + ".\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"Tim had a red ball.\"}]}");
        }
        Path data = TestData.write(dir, "chat.jsonl", lines);
        String gguf = Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf")
                .toUri().toString();
        List<String> settings = new ArrayList<>(List.of("data.path=" + data.toUri(), "data.format=messages",
                "data.seq_len=48", "model.init=" + gguf, "train.rounds=2", "train.averaging_frequency=2",
                "train.batch_size_per_worker=4", "spark.partitions=2", "spark.threads_per_task=1"));
        List<String> unmapped = new ArrayList<>(settings);
        unmapped.add("run.dir=" + dir.resolve("unmapped").toUri());
        IllegalArgumentException error = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new SftJob(SparkTestSession.get(), SftConfig.load(null, unmapped)).run());
        assertTrue(error.getMessage().contains("[<|user|>, <|assistant|>, <|end|>]")
                && error.getMessage().contains("tokenizer.special_tokens"), error.getMessage());

        List<String> mapped = new ArrayList<>(settings);
        mapped.add("run.dir=" + dir.resolve("mapped").toUri());
        mapped.add("tokenizer.special_tokens={\"<|user|>\": \"\u2581O\", \"<|assistant|>\": \"\u2581H\", "
                + "\"<|end|>\": \"</s>\"}");
        SftResult result = new SftJob(SparkTestSession.get(), SftConfig.load(null, mapped)).run();
        CheckpointStore.ModelAndTokenizer saved = CheckpointStore.loadModel(new HadoopFiles(new Configuration()),
                result.checkpoint());
        var tokenizer = (io.whetstone.datasets.tokenize.SentencePieceTokenizer) saved.tokenizer();
        assertEquals("\u2581O", tokenizer.piece(tokenizer.specialId("<|user|>")));
        assertEquals(tokenizer.eosId(), tokenizer.specialId("<|end|>"));
        assertEquals(result.tokenizer().id(), saved.tokenizer().id());
    }

    /**
     * The other way from issue 13: a Jinja chat template whose markers are plain text (tokenizer.chat_template=<file>)
     * makes messages SFT of the GGUF model work with no mapping, and the checkpoint carries the template.
     */
    @Test
    void messagesOnAGgufModelWithAPlainTextTemplateFile(@TempDir Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            lines.add("{\"messages\": [{\"role\": \"user\", \"content\": \"Tell me about Tim " + i + ".\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"Tim had a red ball.\"}]}");
        }
        Path data = TestData.write(dir, "chat.jsonl", lines);
        String template = "{{ bos_token }}{% for message in messages %}{% if message.role == 'user' %}"
                + "{{ 'Question: ' + message.content + '\\n' }}{% elif message.role == 'assistant' %}"
                + "{{ 'Answer: ' + message.content + eos_token }}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}{{ 'Answer:' }}{% endif %}";
        Path templateFile = TestData.write(dir, "plain.jinja", List.of(template));
        String gguf = Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf")
                .toUri().toString();
        List<String> settings = new ArrayList<>(List.of("run.dir=" + dir.resolve("run").toUri(), "data.path="
                + data.toUri(), "data.format=messages", "data.seq_len=48", "model.init=" + gguf, "train.rounds=2",
                "train.averaging_frequency=2", "train.batch_size_per_worker=4", "spark.partitions=2",
                "spark.threads_per_task=1", "tokenizer.chat_template=" + templateFile.toUri()));
        SftResult result = new SftJob(SparkTestSession.get(), SftConfig.load(null, settings)).run();
        assertTrue(result.corpus().examples() == 16, result.corpus().toString());
        CheckpointStore.ModelAndTokenizer saved = CheckpointStore.loadModel(new HadoopFiles(new Configuration()),
                result.checkpoint());
        assertEquals(template + "\n", saved.tokenizer().chatTemplate().orElseThrow());
        assertEquals(result.tokenizer().id(), saved.tokenizer().id());
        String config = java.nio.file.Files.readString(Path.of(java.net.URI.create(result.checkpoint()))
                .resolve("tokenizer_config.json"));
        assertTrue(config.contains("\"chat_template\""), config);
    }
}
