package io.whetstone.jobs.distill;

import io.whetstone.jobs.config.InjectedFailure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.DistillDataConfig;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chain-of-thought corpus job with the real stories260K model as the teacher and "the story mentions
 * the prompt's reference word" as the verifier: only verified, distinct rationales enter the corpus, within
 * the per-prompt limit; the statistics add up; the SFT job reads the corpus; a killed run resumes after its
 * last chunk to the same bytes; a finished corpus is kept on rerun and never overwritten by other settings.
 */
class DistillDataJobTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = {"the", "was", "dog", "she", "ball", "and"};

    static String stories() {
        return Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf").toUri().toString();
    }

    private static Path prompts(Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        String[] openings = {"Once upon a time", "Tom had a", "One day, Lily", "The sun was", "Sam and Mia",
            "There was a big"};
        for (int i = 0; i < openings.length; i++) {
            lines.add(JSON.createObjectNode().put("id", "p" + i).put("prompt", openings[i]).put("reference", WORDS[i])
                    .toString());
        }
        return TestData.write(dir, "prompts.jsonl", lines);
    }

    private static List<String> settings(Path prompts, Path output, Path runDir) {
        return new ArrayList<>(List.of("teacher.path=" + stories(), "data.path=" + prompts.toUri(),
                "output.path=" + output.toUri(), "run.dir=" + runDir.toUri(), "sampling.samples_per_prompt=4",
                "sampling.max_new_tokens=40", "sampling.chunk_prompts=2", "filter.max_per_prompt=2",
                "filter.verifier={type: mentions, word: ''}", "spark.threads_per_task=1"));
    }

    private static DistillDataJob.Result run(List<String> settings) {
        return new DistillDataJob(SparkTestSession.get(), DistillDataConfig.load(null, settings)).run();
    }

    @Test
    void corpusHoldsOnlyVerifiedDistinctRationalesWithinTheLimitAndSftReadsIt(@TempDir Path dir) throws IOException {
        Path prompts = prompts(dir);
        List<String> settings = settings(prompts, dir.resolve("corpus"), dir.resolve("run"));
        settings.add("output.format=both");
        DistillDataJob.Result result = run(settings);
        Map<String, Object> stats = result.stats();
        assertEquals(24L, ((Number) stats.get("samples")).longValue());
        List<String> lines = Files.readAllLines(dir.resolve("corpus/corpus.jsonl"));
        assertEquals(((Number) stats.get("accepted")).intValue(), lines.size());
        assertTrue(lines.size() > 0 && lines.size() < 12, "some but not all prompts verified: " + lines.size());
        Map<String, Integer> perPrompt = new HashMap<>();
        Map<String, String> seen = new HashMap<>();
        for (String line : lines) {
            JsonNode row = JSON.readTree(line);
            String promptId = row.get("id").asText().split("#")[0];
            String word = WORDS[Integer.parseInt(promptId.substring(1))];
            assertTrue(Pattern.compile("\\b" + word + "\\b").matcher(row.get("completion").asText()
                    .toLowerCase(Locale.ROOT)).find(), "unverified rationale kept: " + line);
            perPrompt.merge(promptId, 1, Integer::sum);
            assertFalse(row.get("completion").asText().equals(seen.put(promptId + row.get("completion").asText(),
                    "x")), "duplicate kept");
        }
        perPrompt.values().forEach(count -> assertTrue(count <= 2, "over the per-prompt limit: " + perPrompt));
        long verified = ((Number) stats.get("verified")).longValue();
        assertEquals((double) verified / 24, (double) stats.get("teacher_accuracy"), 1e-12);
        assertEquals(verified, ((Number) stats.get("accepted")).longValue()
                + ((Number) stats.get("duplicates_dropped")).longValue()
                + ((Number) stats.get("over_limit_dropped")).longValue()
                + ((Number) stats.get("empty_dropped")).longValue());
        assertEquals(6, Files.readAllLines(dir.resolve("corpus/prompts.jsonl")).size());
        assertTrue(Files.exists(dir.resolve("corpus/_SUCCESS")));
        assertTrue(Files.exists(dir.resolve("corpus/corpus.parquet")));
        assertFalse(Files.list(dir.resolve("corpus")).anyMatch(p -> p.getFileName().toString().startsWith("_work")),
                "the work area is removed once the corpus is complete");

        // the SFT job reads the corpus directly, in both containers
        for (String data : List.of(result.jsonl(), result.parquet())) {
            Path runDir = dir.resolve("sft-" + (data.endsWith("jsonl") ? "jsonl" : "parquet"));
            SftResult sft = new SftJob(SparkTestSession.get(), SftConfig.load(null, List.of("run.dir=" + runDir.toUri(),
                    "data.path=" + data, "data.format=prompt_completion", "data.seq_len=64", "model.init=" + stories(),
                    "train.rounds=1", "train.averaging_frequency=1", "train.batch_size_per_worker=2",
                    "spark.partitions=2", "spark.threads_per_task=1"))).run();
            assertEquals(lines.size(), sft.corpus().examples(), data);
        }
    }

    @Test
    void aRunThatKeepsNothingIsAnErrorNotAnEmptyCorpus(@TempDir Path dir) throws IOException {
        List<String> settings = settings(prompts(dir), dir.resolve("corpus"), dir.resolve("run"));
        settings.add("filter.verifier={type: mentions, word: zygomorphic}");
        IllegalArgumentException error = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> run(settings));
        assertTrue(error.getMessage().startsWith("no corpus: of 24 samples, none was kept"), error.getMessage());
        assertFalse(Files.exists(dir.resolve("corpus/_SUCCESS")), "no output marked complete");
    }

    @Test
    void greedyRepeatsAreDroppedAsDuplicates(@TempDir Path dir) throws IOException {
        List<String> settings = settings(prompts(dir), dir.resolve("corpus"), dir.resolve("run"));
        settings.addAll(List.of("sampling.temperature=0", "sampling.samples_per_prompt=3", "filter.max_per_prompt=0"));
        Map<String, Object> stats = run(settings).stats();
        long verified = ((Number) stats.get("verified")).longValue();
        long prompts = ((Number) stats.get("prompts_with_a_verified_sample")).longValue();
        assertTrue(prompts > 0);
        assertEquals(3 * prompts, verified, "greedy samples of a prompt are identical");
        assertEquals(prompts, ((Number) stats.get("accepted")).longValue());
        assertEquals(2 * prompts, ((Number) stats.get("duplicates_dropped")).longValue());
    }

    @Test
    void killedRunResumesAfterItsLastChunkAndFinishedCorporaAreKept(@TempDir Path dir) throws IOException {
        Path prompts = prompts(dir);
        DistillDataJob.Result straight = run(settings(prompts, dir.resolve("straight"), dir.resolve("run1")));
        assertEquals(3, straight.chunksSampled());

        List<String> killed = settings(prompts, dir.resolve("killed"), dir.resolve("run2"));
        List<String> failing = new ArrayList<>(killed);
        failing.add("debug.fail_after_round=1");
        assertThrows(InjectedFailure.class, () -> run(failing));
        DistillDataJob.Result resumed = run(killed);
        assertEquals(2, resumed.chunksSampled(), "chunks 2 and 3 after the first was written");
        assertEquals(Files.readString(dir.resolve("straight/corpus.jsonl")), Files.readString(dir.resolve("killed/corpus.jsonl")));
        assertEquals(straight.stats().get("accepted"), resumed.stats().get("accepted"));

        DistillDataJob.Result again = run(killed);
        assertTrue(again.reused());
        assertEquals(0, again.chunksSampled());
        List<String> other = new ArrayList<>(killed);
        other.add("sampling.seed=2");
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> run(other));
        assertTrue(refused.getMessage().contains("holds a finished corpus"), refused.getMessage());
    }
}
