package io.whetstone.jobs.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.records.Example;
import io.whetstone.datasets.records.ModelChatTemplate;
import io.whetstone.datasets.tokenize.TokenizedExample;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.GenerateConfig;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.generate.GenerateJob;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages SFT with a tokenizer that carries its own chat template (a byte-level BPE tokenizer with Qwen's special
 * tokens and the Qwen2.5 template, from the datasets module's test data): the job lays chats out with the template,
 * trains exactly the assistant turns, the checkpoint keeps the template, and generate prompts with it.
 */
class ModelTemplateSftTest {

    private static final Path TOKENIZER = Path.of("..", "datasets", "src", "test", "resources", "chat-templates",
            "bpe-chat").toAbsolutePath().normalize();

    @Test
    void messagesTrainThroughTheTokenizersOwnTemplate(@TempDir Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            lines.add("{\"messages\": [{\"role\": \"user\", \"content\": \"What is 2+" + (i % 4) + "?\"}, "
                    + "{\"role\": \"assistant\", \"content\": \"The answer is " + (2 + i % 4) + ".\"}]}");
        }
        Path data = TestData.write(dir, "chat.jsonl", lines);
        SftResult result = new SftJob(SparkTestSession.get(), SftConfig.load(null, List.of(
                "run.dir=" + dir.resolve("run").toUri(), "data.path=" + data.toUri(), "data.format=messages",
                "data.seq_len=128", "tokenizer.type=hf", "tokenizer.path=" + TOKENIZER.toUri(), "model.width=32",
                "model.layers=1", "model.heads=2", "model.kv_heads=2", "model.ffn_hidden=64", "train.rounds=2",
                "train.averaging_frequency=2", "train.batch_size_per_worker=4", "spark.partitions=2",
                "spark.threads_per_task=1"))).run();
        assertEquals(12, result.corpus().examples());

        // exactly the assistant turns as the template renders them ("The answer is N.<|im_end|>\n") are trained
        var tokenizer = result.tokenizer();
        ModelChatTemplate template = ModelChatTemplate.of(tokenizer.chatTemplate().orElseThrow(),
                tokenizer.templateVariables(), tokenizer.specialTokenTexts(), Instant.now());
        long expected = 0;
        for (int i = 0; i < 12; i++) {
            List<ChatTemplateSpec.Message> chat = List.of(new ChatTemplateSpec.Message("user", "What is 2+" + (i % 4)
                    + "?"), new ChatTemplateSpec.Message("assistant", "The answer is " + (2 + i % 4) + "."));
            expected += TokenizedExample.of(new Example("x", i, template.conversation(chat)), tokenizer)
                    .trainableTokens();
        }
        assertEquals(expected, result.corpus().trainableTokens());

        CheckpointStore.ModelAndTokenizer saved = CheckpointStore.loadModel(new HadoopFiles(new Configuration()),
                result.checkpoint());
        assertEquals(Files.readString(TOKENIZER.getParent().resolve("qwen2_5.jinja")),
                saved.tokenizer().chatTemplate().orElseThrow());

        Path prompts = dir.resolve("prompts.jsonl");
        Files.write(prompts, List.of("{\"messages\": [{\"role\": \"user\", \"content\": \"What is 2+3?\"}]}"));
        GenerateJob.Result generated = new GenerateJob(SparkTestSession.get(), GenerateConfig.load(null, List.of(
                "model.path=" + result.checkpoint(), "data.path=" + prompts.toUri(), "output.path="
                        + dir.resolve("out").toUri(), "sampling.max_new_tokens=4", "spark.partitions=1",
                "spark.threads_per_task=1"))).run();
        assertEquals(1, generated.completions());
        assertTrue(Files.exists(dir.resolve("out/_SUCCESS")));
    }
}
