package io.whetstone.jobs.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.tokenize.SentencePieceTokenizer;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.rollout.ModelReward;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** DPO on message-list pairs from the real GGUF model, its chat markers mapped with tokenizer.special_tokens. */
class DpoMappedMarkersTest {

    private static final String STORIES = Path.of(System.getProperty("whetstone.assets", "../shared/assets"),
            "stories260K.gguf").toUri().toString();

    /** {@code count} message-list pairs about Tim, each with its own prompt. */
    private static Path pairs(Path dir, int count) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            lines.add("{\"prompt\": [{\"role\": \"user\", \"content\": \"What did Tim have " + i + "?\"}], "
                    + "\"chosen\": [{\"role\": \"assistant\", \"content\": \"Tim had a red ball.\"}], "
                    + "\"rejected\": [{\"role\": \"assistant\", \"content\": \"The sky was big.\"}]}");
        }
        return TestData.write(dir, "pairs.jsonl", lines);
    }

    @Test
    void messagePairsTrainWithTheMarkersMappedOntoTheGgufVocabulary(@TempDir Path dir) throws IOException {
        Path data = pairs(dir, 16);
        String gguf = STORIES;
        DpoResult result = new DpoJob(SparkTestSession.get(), DpoConfig.load(null, List.of(
                "run.dir=" + dir.resolve("run").toUri(), "data.path=" + data.toUri(), "data.seq_len=48",
                "model.init=" + gguf, "train.rounds=2", "train.averaging_frequency=1", "train.batch_size_per_worker=4",
                "spark.partitions=2", "spark.threads_per_task=1",
                "tokenizer.special_tokens={\"<|user|>\": \"\u2581O\", \"<|assistant|>\": \"\u2581H\", \"<|end|>\": \"</s>\"}")))
                .run();
        assertEquals(16, result.corpus().units());
        assertEquals(Math.log(2), result.firstLoss(), 1e-4);
        CheckpointStore.ModelAndTokenizer saved = CheckpointStore.loadModel(new HadoopFiles(new Configuration()),
                result.checkpoint());
        SentencePieceTokenizer tokenizer = (SentencePieceTokenizer) saved.tokenizer();
        assertEquals("\u2581H", tokenizer.piece(tokenizer.specialId("<|assistant|>")));
        assertTrue(result.tokenizer().id().equals(saved.tokenizer().id()));
    }

    /**
     * The same pairs without the mapping: one configuration error naming the markers before any record is tokenized
     * (not one rejected record per pair); with a plain-text Jinja template instead (frozen base in bfloat16, LoRA),
     * they train.
     */
    @Test
    void missingMarkersAreOneErrorAndATemplateFileNeedsNone(@TempDir Path dir) throws IOException {
        Path data = pairs(dir, 8);
        String gguf = STORIES;
        List<String> settings = List.of("data.path=" + data.toUri(), "data.seq_len=48", "model.init=" + gguf,
                "train.rounds=1", "train.averaging_frequency=1", "train.batch_size_per_worker=4", "spark.partitions=2",
                "spark.threads_per_task=1");
        List<String> unmapped = new ArrayList<>(settings);
        unmapped.add("run.dir=" + dir.resolve("unmapped").toUri());
        IllegalArgumentException error = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new DpoJob(SparkTestSession.get(), DpoConfig.load(null, unmapped)).run());
        assertTrue(error.getMessage().contains("with conversations") && error.getMessage().contains("<|user|>"),
                error.getMessage());

        Path template = TestData.write(dir, "plain.jinja", List.of("{{ bos_token }}{% for m in messages %}"
                + "{{ ('Q: ' if m.role == 'user' else 'A: ') + m.content }}{% if m.role == 'assistant' %}"
                + "{{ eos_token }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'A:' }}{% endif %}"));
        List<String> templated = new ArrayList<>(settings);
        templated.addAll(List.of("run.dir=" + dir.resolve("templated").toUri(), "tokenizer.chat_template="
                + template.toUri(), "lora.enabled=true", "lora.rank=4", "model.frozen_dtype=bfloat16"));
        DpoResult result = new DpoJob(SparkTestSession.get(), DpoConfig.load(null, templated)).run();
        assertEquals(8, result.corpus().units());
        assertEquals(Math.log(2), result.firstLoss(), 1e-3);
    }

    /**
     * A reward model on message-list pairs (markers mapped onto the GGUF vocabulary): eval-rm reads the same message
     * lists, lays them out with the exported model's chat template and ranks every pair; a record mixing a string
     * prompt with message completions is refused naming its file, line and field.
     */
    @Test
    void evalRmScoresMessagePairsLaidOutAsInTraining(@TempDir Path dir) throws IOException {
        Path data = pairs(dir, 16);
        DpoResult result = new DpoJob(SparkTestSession.get(), DpoConfig.load(null, List.of(
                "preference.loss=bradley_terry", "run.dir=" + dir.resolve("rm").toUri(), "data.path=" + data.toUri(),
                "data.seq_len=48", "model.init=" + STORIES, "train.rounds=6", "train.mode=gradient",
                "train.averaging_frequency=1", "train.batch_size_per_worker=4", "train.lr=0.01",
                "train.warmup_steps=0", "spark.partitions=2", "spark.threads_per_task=1",
                "tokenizer.special_tokens={\"<|user|>\": \"\u2581O\", \"<|assistant|>\": \"\u2581H\", \"<|end|>\": \"</s>\"}")))
                .run();
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        ModelReward model = ModelReward.load(context, new HadoopFiles(context.hadoopConfiguration()),
                result.rewardModel(), new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1));
        RewardModelEvaluation evaluation = RewardModelEvaluation.evaluate(SparkTestSession.get(),
                data.toUri().toString(), false, model, 2);
        assertEquals(16, evaluation.pairs());
        assertEquals(1.0, evaluation.accuracy(), evaluation.toString());
        assertTrue(evaluation.meanGap() > 0);

        Path mixed = TestData.write(dir, "mixed.jsonl", List.of(Files.readAllLines(data).get(0), "{\"prompt\": "
                + "\"What did Tim have?\", \"chosen\": [{\"role\": \"assistant\", \"content\": \"A ball.\"}], "
                + "\"rejected\": [{\"role\": \"assistant\", \"content\": \"The sky.\"}]}"));
        Exception error = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
                () -> RewardModelEvaluation.evaluate(SparkTestSession.get(), mixed.toUri().toString(), false, model, 1));
        String message = String.valueOf(error.getMessage()) + (error.getCause() == null ? ""
                : error.getCause().getMessage());
        assertTrue(message.contains("mixed.jsonl:2") && message.contains("chosen"), message);
    }
}
