package io.whetstone.jobs.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.SftConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SFT with a held-out corpus: its loss and perplexity before training, at the cadence and after the last round. */
class HeldOutSftTest {

    /** A round's parts are each at least 0 and add up to its wall time. */
    static void assertBreakdown(JsonNode round) {
        double parts = 0;
        for (String part : List.of("broadcast_s", "compute_s", "aggregation_s", "driver_step_s")) {
            assertTrue(round.has(part) && round.get(part).asDouble() >= 0, part + " in " + round);
            parts += round.get(part).asDouble();
        }
        assertTrue(round.get("compute_s").asDouble() > 0, round.toString());
        assertEquals(round.get("round_s").asDouble(), parts, 1e-6, "the parts add up to round_s in " + round);
        assertTrue(round.get("broadcast_fetch_s").asDouble() <= round.get("broadcast_s").asDouble(), round.toString());
        assertEquals(round.get("bytes_moved").asLong(),
                round.get("bytes_broadcast").asLong() + round.get("bytes_returned").asLong(), round.toString());
    }

    @Test
    void heldOutLossIsMeasuredBeforeAtTheCadenceAndAfterAndFalls(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "train.jsonl", TestData.promptCompletionLines(80, 4));
        Path heldOut = TestData.write(dir, "heldout.jsonl", TestData.promptCompletionLines(20, 99));
        for (boolean lora : new boolean[] {false, true}) {
            Path run = dir.resolve(lora ? "lora" : "full");
            List<String> settings = TestData.tinySft(data, run);
            settings.addAll(List.of("train.rounds=4", "eval.path=" + heldOut.toUri(), "eval.every_rounds=2",
                    "lora.enabled=" + lora));
            new SftJob(SparkTestSession.get(), SftConfig.load(null, settings)).run();
            List<JsonNode> evals = new ArrayList<>();
            ObjectMapper json = new ObjectMapper();
            for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
                JsonNode node = json.readTree(line);
                if (node.has("eval_loss")) {
                    evals.add(node);
                }
                if (node.has("round_s")) {
                    assertBreakdown(node);
                }
            }
            assertEquals(List.of(0, 2, 4), evals.stream().map(n -> n.get("round").asInt()).toList(), evals.toString());
            double before = evals.get(0).get("eval_loss").asDouble();
            double after = evals.get(2).get("eval_loss").asDouble();
            assertTrue(after < before, (lora ? "lora: " : "") + before + " -> " + after);
            assertEquals(Math.exp(after), evals.get(2).get("eval_ppl").asDouble(), 1e-9 * Math.exp(after));
        }
    }

    @Test
    void aFractionOfTheCorpusIsHeldOutByContentAndNotTrainedOn(@TempDir Path dir) throws IOException {
        List<String> lines = TestData.promptCompletionLines(80, 4);
        Path data = TestData.write(dir, "train.jsonl", lines);
        long trainSide = lines.stream().filter(new io.whetstone.datasets.spark.HeldOutSplit(0.25, false)::keeps).count();
        assertTrue(trainSide > 40 && trainSide < 80, "the split holds some out: " + trainSide);
        Path run = dir.resolve("run");
        List<String> settings = TestData.tinySft(data, run);
        settings.addAll(List.of("train.rounds=2", "eval.fraction=0.25"));
        SftResult result = new SftJob(SparkTestSession.get(), SftConfig.load(null, settings)).run();
        assertEquals(trainSide, result.corpus().examples(), "only the training side is trained on");
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> evals = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode node = json.readTree(line);
            if (node.has("eval_loss")) {
                evals.add(node);
            }
        }
        assertEquals(List.of(0, 2), evals.stream().map(n -> n.get("round").asInt()).toList());

        List<String> both = new ArrayList<>(settings);
        both.add("eval.path=" + data.toUri());
        io.whetstone.jobs.config.ConfigException error = org.junit.jupiter.api.Assertions.assertThrows(
                io.whetstone.jobs.config.ConfigException.class, () -> SftConfig.load(null, both));
        assertTrue(error.getMessage().contains("eval.path and eval.fraction are alternatives"), error.getMessage());
    }
}
