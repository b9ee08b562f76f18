package io.whetstone.jobs.sft;

import io.whetstone.jobs.config.InjectedFailure;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.SftConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run killed mid-way and resumed ends with the same weights as an uninterrupted run. */
class ResumeTest {

    @Test
    void killedRunResumesToTheSameWeights(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "corpus.jsonl", TestData.promptCompletionLines(80, 4));
        List<String> straight = TestData.tinySft(data, dir.resolve("straight"));
        straight.add("train.rounds=6");
        SftResult uninterrupted = new SftJob(SparkTestSession.get(), SftConfig.load(null, straight)).run();

        List<String> killed = TestData.tinySft(data, dir.resolve("killed"));
        killed.add("train.rounds=6");
        List<String> failing = new java.util.ArrayList<>(killed);
        failing.add("debug.fail_after_round=3");
        assertThrows(InjectedFailure.class,
                () -> new SftJob(SparkTestSession.get(), SftConfig.load(null, failing)).run());
        assertTrue(Files.exists(dir.resolve("killed/checkpoints/round-000002/_SUCCESS")));

        SftResult resumed = new SftJob(SparkTestSession.get(), SftConfig.load(null, killed)).run();
        assertEquals(4, resumed.roundsRun(), "rounds 3-6 after resuming from the round-2 checkpoint");
        assertArrayEquals(uninterrupted.state().params(), resumed.state().params(), 0f);
        assertEquals(uninterrupted.state().step(), resumed.state().step());
        for (int i = 0; i < uninterrupted.state().optimizerState().length; i++) {
            assertArrayEquals(uninterrupted.state().optimizerState()[i], resumed.state().optimizerState()[i], 0f);
        }

        String metrics = Files.readString(dir.resolve("killed/metrics.jsonl"));
        assertTrue(metrics.contains("\"event\":\"resume\""), metrics);
    }

    /**
     * Damaged newest checkpoints (a truncated model file, an unreadable trainer state) are skipped with a warning
     * and the newest one that loads is used: the run still ends bit-identical to an uninterrupted one. With none
     * usable, resuming is a clear error.
     */
    @Test
    void damagedCheckpointsAreSkippedForTheNewestUsableOne(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "corpus.jsonl", TestData.promptCompletionLines(80, 4));
        List<String> straight = TestData.tinySft(data, dir.resolve("straight"));
        straight.add("train.rounds=6");
        SftResult uninterrupted = new SftJob(SparkTestSession.get(), SftConfig.load(null, straight)).run();

        List<String> killed = TestData.tinySft(data, dir.resolve("killed"));
        killed.addAll(List.of("train.rounds=6", "checkpoint.every_rounds=1", "checkpoint.keep_last=10"));
        List<String> failing = new java.util.ArrayList<>(killed);
        failing.add("debug.fail_after_round=4");
        assertThrows(InjectedFailure.class,
                () -> new SftJob(SparkTestSession.get(), SftConfig.load(null, failing)).run());
        Path checkpoints = dir.resolve("killed/checkpoints");
        Path model = checkpoints.resolve("round-000004/model.safetensors");
        Files.write(model, java.util.Arrays.copyOf(Files.readAllBytes(model), (int) Files.size(model) / 2));
        Files.writeString(checkpoints.resolve("round-000003/trainer_state/state.json"), "{\"round\": 3, trunc");

        SftResult resumed = new SftJob(SparkTestSession.get(), SftConfig.load(null, killed)).run();
        assertEquals(4, resumed.roundsRun(), "rounds 3-6 from round 2, the newest checkpoint that loads");
        assertArrayEquals(uninterrupted.state().params(), resumed.state().params(), 0f);
        String log = Files.readString(dir.resolve("killed/whetstone.log"));
        assertTrue(log.contains("round-000004 is damaged and skipped"), "the run directory's log has the warning:\n"
                + log);

        for (String round : List.of("000001", "000002", "000003", "000004", "000005", "000006")) {
            Path state = checkpoints.resolve("round-" + round + "/trainer_state/state.json");
            Files.writeString(state, "not json");
        }
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> new SftJob(SparkTestSession.get(), SftConfig.load(null, killed)).run());
        assertTrue(none.getMessage().startsWith("no usable checkpoint to resume from")
                && none.getMessage().contains("round-000001"), none.getMessage());
    }

    /**
     * A rerun of a run directory with a changed config: a schedule change applies from the resumed round and is
     * recorded; a change of what is trained (the data, the model) is refused, naming the key, and the directory's
     * config.resolved.yaml keeps the config its checkpoints were trained with. A model loaded from model.init is
     * recorded with its own architecture, not the unused model.* defaults.
     */
    @Test
    void aResumedRunRefusesAChangedModelOrDataAndRecordsOtherChanges(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "corpus.jsonl", TestData.promptCompletionLines(40, 4));
        List<String> first = TestData.tinySft(data, dir.resolve("run"));
        first.add("train.rounds=2");
        SftResult trained = new SftJob(SparkTestSession.get(), SftConfig.load(null, first)).run();

        List<String> longer = TestData.tinySft(data, dir.resolve("run"));
        longer.addAll(List.of("train.rounds=4", "train.lr=0.001"));
        SftResult resumed = new SftJob(SparkTestSession.get(), SftConfig.load(null, longer)).run();
        assertEquals(2, resumed.roundsRun());
        String metrics = Files.readString(dir.resolve("run/metrics.jsonl"));
        assertTrue(metrics.contains("\"event\":\"config_changed\"") && metrics.contains("\"key\":\"train.lr\"")
                && metrics.contains("\"before\":\"0.003\""), metrics);

        List<String> otherData = TestData.tinySft(data, dir.resolve("run"));
        otherData.addAll(List.of("train.rounds=6", "data.seq_len=40"));
        io.whetstone.jobs.config.ConfigException refused = assertThrows(io.whetstone.jobs.config.ConfigException.class,
                () -> new SftJob(SparkTestSession.get(), SftConfig.load(null, otherData)).run());
        assertTrue(refused.getMessage().contains("data.seq_len: 48 -> 40"), refused.getMessage());
        assertTrue(Files.readString(dir.resolve("run/config.resolved.yaml")).contains("seq_len: 48"));

        List<String> fineTune = TestData.tinySft(data, dir.resolve("tuned"));
        fineTune.addAll(List.of("train.rounds=1", "model.init=" + trained.checkpoint(), "model.width=128",
                "model.family=llama"));
        new SftJob(SparkTestSession.get(), SftConfig.load(null, fineTune)).run();
        String recorded = Files.readString(dir.resolve("tuned/config.resolved.yaml"));
        assertTrue(recorded.contains("family: \"gpt2\"") || recorded.contains("family: gpt2"), recorded);
        assertTrue(recorded.contains("width: 32"), recorded);
    }

    @Test
    void checkpointIsAPortableModelDirectoryAndOldOnesArePruned(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "corpus.jsonl", TestData.promptCompletionLines(40, 5));
        List<String> settings = TestData.tinySft(data, dir.resolve("run"));
        settings.add("train.rounds=6");
        settings.add("checkpoint.every_rounds=1");
        settings.add("checkpoint.keep_last=2");
        SftResult result = new SftJob(SparkTestSession.get(), SftConfig.load(null, settings)).run();
        Path checkpoints = dir.resolve("run/checkpoints");
        try (Stream<Path> listing = Files.list(checkpoints)) {
            assertEquals(List.of("round-000005", "round-000006"),
                    listing.map(p -> p.getFileName().toString()).sorted().toList());
        }
        Path last = checkpoints.resolve("round-000006");
        assertTrue(result.checkpoint().endsWith("round-000006"), result.checkpoint());
        for (String file : List.of("_SUCCESS", "config.json", "model.safetensors", "tokenizer.json",
                "tokenizer_config.json", "trainer_state/state.json", "trainer_state/optimizer.safetensors")) {
            assertTrue(Files.exists(last.resolve(file)), "missing " + file);
        }
        JsonNode config = new ObjectMapper().readTree(last.resolve("config.json").toFile());
        assertEquals("gpt2", config.get("model_type").asText());
        assertEquals(263, config.get("vocab_size").asInt());
        JsonNode state = new ObjectMapper().readTree(last.resolve("trainer_state/state.json").toFile());
        assertEquals(6, state.get("round").asInt());
        assertEquals(12, state.get("step").asInt());
        assertEquals(6, state.path("config").path("train").path("rounds").asInt());
        assertTrue(Files.exists(dir.resolve("run/config.resolved.yaml")));
        String metrics = Files.readString(dir.resolve("run/metrics.jsonl"));
        assertEquals(8, metrics.lines().count(), metrics); // start, 6 rounds, end
        assertTrue(Files.exists(dir.resolve("run/whetstone.log")), "the run directory keeps its log");
    }
}
