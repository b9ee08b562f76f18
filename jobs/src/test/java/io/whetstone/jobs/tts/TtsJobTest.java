package io.whetstone.jobs.tts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.config.TtsConfig;
import io.whetstone.jobs.preference.DpoJob;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tts job on a tiny SFT model of the built-in task, with a reward model trained on format pairs: every
 * strategy at sample and token budgets; the oracle bounds the rest; budgets are never overspent; the outputs
 * (table, summary, plot) are written; and the run does not depend on how questions are partitioned.
 */
class TtsJobTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    private static SftResult policy;
    private static String rewardModel;
    private static Path questions;

    @BeforeAll
    static void trainThePolicyAndARewardModel() throws IOException {
        Path sftData = TestData.write(shared, "sft.jsonl", TestData.promptCompletionLines(120, 4));
        List<String> sft = TestData.tinySft(sftData, shared.resolve("sft"));
        sft.add("train.rounds=12");
        policy = new SftJob(SparkTestSession.get(), SftConfig.load(null, sft)).run();
        List<String> pairs = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (TaskExample example : new ArithmeticTask(1, 2, false, 9).generate(ArithmeticTask.Split.TRAIN, 40)) {
            ObjectNode pair = JSON.createObjectNode();
            pair.put("prompt", example.question() + " ");
            pair.put("chosen", "#### " + example.answer());
            pair.put("rejected", "= " + example.answer() + " (maybe)");
            pairs.add(pair.toString());
        }
        for (TaskExample example : new ArithmeticTask(1, 2, false, 21).generate(ArithmeticTask.Split.TEST, 12)) {
            prompts.add(JSON.createObjectNode().put("prompt", example.question() + " ")
                    .put("reference", "#### " + example.answer()).toString());
        }
        questions = TestData.write(shared, "questions.jsonl", prompts);
        rewardModel = new DpoJob(SparkTestSession.get(), DpoConfig.load(null, List.of("preference.loss=bradley_terry",
                "run.dir=" + shared.resolve("rm").toUri(), "data.path=" + TestData.write(shared, "pairs.jsonl", pairs)
                        .toUri(), "data.seq_len=48", "model.init=" + policy.checkpoint(), "train.rounds=8",
                "train.mode=gradient", "train.averaging_frequency=1", "train.batch_size_per_worker=8", "train.lr=0.01",
                "train.warmup_steps=0", "spark.partitions=2", "spark.threads_per_task=1",
                "checkpoint.every_rounds=8"))).run().rewardModel();
    }

    private static TtsJob.Result run(String name, String... extra) {
        List<String> settings = new ArrayList<>(List.of("policy.path=" + policy.checkpoint(), "data.path="
                + questions.toUri(), "run.dir=" + shared.resolve(name).toUri(), "answer.format=task",
                "sampling.samples_per_prompt=8", "sampling.max_new_tokens=10", "sampling.decode_batch=16",
                "reward_model=" + rewardModel, "strategies=[greedy, self_consistency, adaptive, weighted_vote, "
                        + "best_of_n_rm, best_of_n_verifier]", "budget.values=[1, 2, 4, 8]", "adaptive.first=2",
                "spark.threads_per_task=1"));
        settings.addAll(List.of(extra));
        return new TtsJob(SparkTestSession.get(), TtsConfig.load(null, settings)).run();
    }

    @Test
    void everyStrategyAtEveryBudgetWithTheOracleAsUpperBound() throws Exception {
        TtsJob.Result result = run("samples");
        assertEquals(12, result.questions());
        assertEquals(1 + 5 * 4, result.summary().size(), "greedy once, five strategies at four budgets");
        for (int budget : List.of(1, 2, 4, 8)) {
            TtsJob.Summary oracle = result.of("best_of_n_verifier", budget).orElseThrow();
            for (String strategy : List.of("self_consistency", "adaptive", "weighted_vote", "best_of_n_rm")) {
                TtsJob.Summary s = result.of(strategy, budget).orElseThrow();
                assertEquals(12, s.questions());
                assertTrue(s.accuracy() <= oracle.accuracy(), strategy + " at " + budget + " beats the oracle");
            }
            assertEquals(Math.min(budget, 8), oracle.samplesPerQuestion(), 1e-9);
        }
        // nested samples: the oracle never falls with the budget, and a larger budget costs more tokens
        for (int[] pair : new int[][] {{1, 2}, {2, 4}, {4, 8}}) {
            assertTrue(result.of("best_of_n_verifier", pair[0]).orElseThrow().accuracy()
                    <= result.of("best_of_n_verifier", pair[1]).orElseThrow().accuracy());
            assertTrue(result.of("self_consistency", pair[0]).orElseThrow().tokensPerQuestion()
                    < result.of("self_consistency", pair[1]).orElseThrow().tokensPerQuestion());
        }
        // at one sample every strategy answers with that sample
        double single = result.of("self_consistency", 1).orElseThrow().accuracy();
        assertEquals(single, result.of("best_of_n_rm", 1).orElseThrow().accuracy(), 1e-12);
        assertEquals(single, result.of("best_of_n_verifier", 1).orElseThrow().accuracy(), 1e-12);
        assertTrue(result.of("adaptive", 8).orElseThrow().samplesPerQuestion() <= 8);

        Path runDir = Path.of(URI.create(result.runDir()));
        JsonNode summary = JSON.readTree(runDir.resolve("summary.json").toFile());
        assertEquals(result.of("greedy", 1).orElseThrow().accuracy(), summary.get("greedy_accuracy").asDouble(), 1e-12);
        assertEquals(21, summary.get("strategies").size());
        List<String> table = Files.readAllLines(runDir.resolve("table.jsonl"));
        assertEquals(12 * 21, table.size());
        assertTrue(Files.exists(runDir.resolve("table.parquet").resolve("_SUCCESS")));
        // the plot is well-formed SVG with one line per strategy
        var svg = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(runDir.resolve(
                "accuracy_vs_tokens.svg").toFile());
        assertEquals(6, svg.getElementsByTagName("polyline").getLength());
    }

    /** A killed run resumes at its first unfinished chunk; finished chunks are kept, not sampled again. */
    @Test
    void aRerunKeepsFinishedChunksAndGivesTheSameTable() throws Exception {
        TtsJob.Result first = run("chunks", "sampling.chunk_prompts=5", "strategies=[self_consistency]",
                "budget.values=[4]");
        Path runDir = Path.of(URI.create(first.runDir()));
        Path chunkDir;
        try (var dirs = Files.list(runDir)) {
            chunkDir = dirs.filter(p -> p.getFileName().toString().startsWith("chunks-")).findFirst().orElseThrow();
        }
        List<String> table = Files.readAllLines(runDir.resolve("table.jsonl"));
        assertEquals(3, Files.list(chunkDir).filter(p -> p.toString().endsWith(".jsonl")).count(), "12 questions / 5");
        var kept = Files.getLastModifiedTime(chunkDir.resolve("chunk-000000.jsonl"));
        Files.delete(chunkDir.resolve("chunk-000001.jsonl")); // as if killed while sampling it
        Thread.sleep(1100); // file times have one-second granularity on some file systems
        run("chunks", "sampling.chunk_prompts=5", "strategies=[self_consistency]", "budget.values=[4]");
        assertEquals(kept, Files.getLastModifiedTime(chunkDir.resolve("chunk-000000.jsonl")), "kept, not resampled");
        try (var all = Files.walk(runDir)) {
            List<String> listing = all.map(p -> runDir.relativize(p).toString()).sorted().toList();
            assertTrue(Files.exists(chunkDir.resolve("chunk-000001.jsonl")), listing.toString());
        }
        assertEquals(table, Files.readAllLines(runDir.resolve("table.jsonl")));
    }

    @Test
    void aTokenBudgetIsNeverOverspentAndPartitioningDoesNotChangeTheAnswers() throws Exception {
        TtsJob.Result tokens = run("tokens-2", "budget.unit=tokens", "budget.values=[8, 25, 60]",
                "strategies=[self_consistency, best_of_n_verifier]", "spark.partitions=2");
        TtsJob.Result again = run("tokens-3", "budget.unit=tokens", "budget.values=[8, 25, 60]",
                "strategies=[self_consistency, best_of_n_verifier]", "spark.partitions=3");
        Map<String, String> first = new HashMap<>();
        for (String line : Files.readAllLines(Path.of(URI.create(tokens.runDir())).resolve("table.jsonl"))) {
            JsonNode row = JSON.readTree(line);
            assertTrue(row.get("tokens").asLong() <= row.get("budget").asLong(), line);
            first.put(row.get("index") + "/" + row.get("strategy").asText() + "/" + row.get("budget"), line);
        }
        assertEquals(12 * 6, first.size());
        for (String line : Files.readAllLines(Path.of(URI.create(again.runDir())).resolve("table.jsonl"))) {
            JsonNode row = JSON.readTree(line);
            assertEquals(first.get(row.get("index") + "/" + row.get("strategy").asText() + "/" + row.get("budget")),
                    line, "the same rows with 3 partitions");
        }
    }
}
