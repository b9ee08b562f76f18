package io.whetstone.jobs.preference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.config.InjectedFailure;
import io.whetstone.jobs.config.PreferenceDataConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preference pairs from the real stories260K model's own samples, scored by "the story mentions the prompt's
 * reference word": every pair's chosen completion mentions it and its rejected one does not; the dpo job reads
 * the output and trains on it; a killed run resumes to the same bytes; a finished output is kept on rerun and
 * never overwritten by other settings.
 */
class PreferenceDataJobTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] OPENINGS = {"Once upon a time", "Tom had a", "One day, Lily", "The sun was",
        "Sam and Mia", "There was a big"};
    private static final String[] WORDS = {"the", "was", "dog", "she", "ball", "and"};

    static String stories() {
        return Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf").toUri().toString();
    }

    private static Path prompts(Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < OPENINGS.length; i++) {
            lines.add(JSON.createObjectNode().put("id", "p" + i).put("prompt", OPENINGS[i]).put("reference", WORDS[i])
                    .toString());
        }
        return TestData.write(dir, "prompts.jsonl", lines);
    }

    private static List<String> settings(Path prompts, Path output, Path runDir, String... extra) {
        List<String> settings = new ArrayList<>(List.of("policy.path=" + stories(), "data.path=" + prompts.toUri(),
                "output.path=" + output.toUri(), "run.dir=" + runDir.toUri(), "sampling.samples_per_prompt=6",
                "sampling.max_new_tokens=30", "sampling.chunk_prompts=2",
                "scoring.components=[{name: mentions, type: mentions, word: ''}]", "spark.threads_per_task=1",
                "pairs.keep_unfinished=true")); // stories260K rarely ends a story within 30 tokens
        settings.addAll(List.of(extra));
        return settings;
    }

    private static PreferenceDataJob.Result run(List<String> settings) {
        return new PreferenceDataJob(SparkTestSession.get(), PreferenceDataConfig.load(null, settings)).run();
    }

    @Test
    void pairsFromTheModelsOwnSamplesTrainTheDpoJob(@TempDir Path dir) throws IOException {
        Path prompts = prompts(dir);
        PreferenceDataJob.Result result = run(settings(prompts, dir.resolve("pairs"), dir.resolve("run")));
        assertEquals("paired", result.format());
        List<String> lines = Files.readAllLines(Path.of(java.net.URI.create(result.data())));
        assertFalse(lines.isEmpty());
        assertEquals(lines.size(), ((Number) result.stats().get("pairs")).intValue());
        for (String line : lines) {
            JsonNode pair = JSON.readTree(line);
            int prompt = List.of(OPENINGS).indexOf(pair.get("prompt").asText());
            assertTrue(prompt >= 0, line);
            Pattern word = Pattern.compile("\\b" + WORDS[prompt] + "\\b");
            assertTrue(word.matcher(pair.get("chosen").asText().toLowerCase(Locale.ROOT)).find(), line);
            assertFalse(word.matcher(pair.get("rejected").asText().toLowerCase(Locale.ROOT)).find(), line);
        }
        JsonNode stats = JSON.readTree(Files.readString(Path.of(java.net.URI.create(result.output())).resolve(
                "stats.json")));
        assertEquals(36, stats.get("samples").asInt());
        assertEquals(1.0, stats.get("mean_reward_gap").asDouble(), 1e-12);

        // the dpo job reads it as it is (strict validation) and trains the same model on it
        DpoResult dpo = new DpoJob(SparkTestSession.get(), DpoConfig.load(null, List.of("model.init=" + stories(),
                "data.path=" + result.data(), "data.seq_len=64", "run.dir=" + dir.resolve("dpo").toUri(),
                "train.rounds=2", "train.averaging_frequency=1", "train.batch_size_per_worker=2",
                "spark.threads_per_task=1"))).run();
        assertEquals(lines.size(), dpo.corpus().units());
        assertEquals(Math.log(2), dpo.firstLoss(), 1e-3);
    }

    @Test
    void aKilledRunResumesToTheSameBytesAndAFinishedOutputIsKept(@TempDir Path dir) throws IOException {
        Path prompts = prompts(dir);
        PreferenceDataJob.Result whole = run(settings(prompts, dir.resolve("whole"), dir.resolve("run-whole"),
                "pairs.mode=unpaired"));
        assertEquals("unpaired", whole.format());
        Path killed = dir.resolve("killed");
        assertThrows(InjectedFailure.class, () -> run(settings(prompts, killed, dir.resolve("run-killed"),
                "pairs.mode=unpaired", "debug.fail_after_round=1")));
        PreferenceDataJob.Result resumed = run(settings(prompts, killed, dir.resolve("run-killed"),
                "pairs.mode=unpaired"));
        assertEquals(2, resumed.chunksSampled(), "chunks 2 and 3 of 3");
        assertArrayEquals(Files.readAllBytes(Path.of(java.net.URI.create(whole.data()))),
                Files.readAllBytes(Path.of(java.net.URI.create(resumed.data()))));
        PreferenceDataJob.Result again = run(settings(prompts, killed, dir.resolve("run-killed"),
                "pairs.mode=unpaired"));
        assertTrue(again.reused());
        IllegalArgumentException other = assertThrows(IllegalArgumentException.class, () -> run(settings(prompts,
                killed, dir.resolve("run-killed"), "pairs.mode=unpaired", "sampling.seed=2")));
        assertTrue(other.getMessage().contains("other inputs or settings"), other.getMessage());
    }
}
