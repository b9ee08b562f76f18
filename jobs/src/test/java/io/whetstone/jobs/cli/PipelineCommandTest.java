package io.whetstone.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code whetstone pipeline} with the real commands on a tiny model: the built-in task's data, SFT on it, and an
 * evaluation of SFT's checkpoint, then the report; a second run skips all three; a changed key reruns SFT and the
 * evaluation. The report's numbers are checked against the run's own files.
 */
class PipelineCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static Run run(String... args) {
        SparkTestSession.get();
        return Run.of(args);
    }

    private static final String PIPELINE = """
            dir: out
            forgetting:
              seq_len: 160
              corpora:
                heldout: {path: "${stages.data.result}/heldout.jsonl", format: gsm8k}
            stages:
              - name: data
                command: task-data
                args: [--output, "${stage.dir}/data", --train, "300", --heldout, "24"]
              - name: sft
                command: sft
                set:
                  data.path: ${stages.data.result}/train.jsonl
                  data.format: gsm8k
                  data.seq_len: 160
                  model.width: 32
                  model.layers: 1
                  model.heads: 2
                  model.kv_heads: 1
                  model.ffn_hidden: 64
                  train.rounds: 3
                  train.averaging_frequency: 2
                  train.warmup_steps: 1
                  spark.partitions: 2
              - name: eval
                command: eval-task
                args: [--data, "${stages.data.result}/heldout.jsonl", --output, "${stage.dir}",
                       --max-new-tokens, "12", "${stages.sft.checkpoint}"]
            """;

    @Test
    void runsSkipsRerunsAndReports() throws IOException {
        Path file = Files.writeString(dir.resolve("nightly.yaml"), PIPELINE);
        Run first = run("pipeline", "--config", file.toString());
        assertEquals(0, first.code(), first.out() + first.err());
        Path out = dir.resolve("out"); // 'dir' resolves against the file's directory
        for (String stage : List.of("data", "sft", "eval")) {
            assertTrue(Files.exists(out.resolve(stage).resolve("_SUCCESS")), stage);
        }
        String lastLine = first.out().strip().substring(first.out().strip().lastIndexOf('\n') + 1);
        assertTrue(lastLine.endsWith("report.html"), first.out());

        // the report, from the run's files
        String report = Files.readString(out.resolve("report.html"));
        List<JsonNode> sftMetrics = Files.readAllLines(out.resolve("sft/metrics.jsonl")).stream()
                .map(PipelineCommandTest::parse).filter(n -> n.has("loss")).toList();
        assertEquals(3, sftMetrics.size());
        String sftSection = report.substring(report.indexOf("<section id=\"stage-sft\">"),
                report.indexOf("</section>", report.indexOf("<section id=\"stage-sft\">")));
        assertTrue(sftSection.contains("aria-label=\"loss\""), "a loss chart in SFT's section");
        assertTrue(sftSection.contains("aria-label=\"lr\"") && sftSection.contains("aria-label=\"tokens_per_s\""));
        assertTrue(sftSection.contains(io.whetstone.jobs.report.RunReportTestAccess.number(
                sftMetrics.get(2).get("loss").asDouble())), "the last loss as the run logged it");
        JsonNode result = parse(Files.readAllLines(out.resolve("eval/results.jsonl")).get(0));
        assertEquals(24, result.get("total").asInt());
        String accuracy = String.format(Locale.ROOT, "%.1f%%", 100 * result.get("accuracy").asDouble());
        String interval = String.format(Locale.ROOT, "[%.1f%%, %.1f%%]", 100 * result.get("ci95_low").asDouble(),
                100 * result.get("ci95_high").asDouble());
        Matcher row = Pattern.compile("<tr><td>eval</td><td>[^<]*round-000003</td><td>" + Pattern.quote(accuracy)
                + "</td><td>" + Pattern.quote(interval) + "</td><td>24</td></tr>").matcher(report);
        assertTrue(row.find(), "the evaluation with its interval in the held-out table");
        assertTrue(report.contains("Samples from completions-1.jsonl"), "completions with verdicts");
        assertTrue(report.contains("Resolved config") && report.contains("model:"), "SFT's resolved config");
        assertTrue(!report.contains("http://") || report.indexOf("http://") == report.indexOf("http://www.w3.org"),
                "nothing to fetch from a network");

        // forgetting: SFT's model (from scratch) scored on the held-out problems by perplexity, in the report
        JsonNode measured = parse(Files.readAllLines(out.resolve("sft/forgetting/heldout/results.jsonl")).get(0));
        assertTrue(measured.path("model").asText().endsWith("round-000003") && measured.path("tokens").asLong() > 0,
                measured.toString());
        assertTrue(report.contains("<tr><td>sft</td><td>heldout</td><td>(from scratch)</td><td></td><td>"
                + io.whetstone.jobs.report.RunReportTestAccess.number(measured.path("loss").asDouble()) + "</td>"),
                "the measured loss in the forgetting table");

        // unchanged: all skipped
        Run second = run("pipeline", "--config", file.toString());
        assertEquals(0, second.code(), second.err());
        assertEquals(3, second.out().split("skipped \\(complete, nothing changed\\)", -1).length - 1, second.out());

        // a key changed from the command line: SFT reruns, and the evaluation of its checkpoint with it
        Run third = run("pipeline", "--config", file.toString(), "--set", "sft.train.rounds=4");
        assertEquals(0, third.code(), third.err());
        assertTrue(third.out().contains("stage data: skipped"), third.out());
        assertTrue(third.out().contains("stage sft: command line changed"), third.out());
        assertTrue(third.out().contains("stage eval: ") && third.out().contains("stage sft changed"), third.out());
        JsonNode summary = JSON.readTree(out.resolve("pipeline.json").toFile());
        assertEquals("ran", summary.path("stages").get(2).path("outcome").asText());
        JsonNode memory = summary.path("stages").get(1).path("memory");
        assertTrue(memory.path("peak_rss_mb").asLong() > 0 && memory.has("heap_committed_mb"), "memory per stage");
        assertTrue(Files.readString(out.resolve("eval/stage.json")).contains("round-000004"));

        // a user error in a stage: its code, one line
        Run bad = run("pipeline", "--config", file.toString(), "--set", "sft.train.rounds=0");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("whetstone sft: "), bad.err());
    }

    @Test
    void theDemoIsTheShippedDemoPipeline() throws IOException {
        Path run = dir.resolve("demo");
        Run data = run("demo", "--run-dir", run.toString(), "--only", "data,prompts_1k", "train.rounds=3");
        assertEquals(0, data.code(), data.out() + data.err());
        assertTrue(Files.exists(run.resolve("data/_SUCCESS")) && Files.exists(run.resolve("prompts_1k/_SUCCESS")));
        assertTrue(Files.exists(run.resolve("data/data/heldout.jsonl")));
        assertEquals(Files.readString(Path.of(System.getProperty("user.dir")).resolve("../conf/pipelines/demo.yaml")),
                Files.readString(run.resolve("demo-pipeline.yaml")), "the jar's pipeline is conf/pipelines/demo.yaml");
        assertTrue(Files.exists(run.resolve("report.html")));
        JsonNode summary = JSON.readTree(run.resolve("pipeline.json").toFile());
        assertEquals("not_selected", summary.path("stages").get(3).path("outcome").asText(), "sft was not asked for");

        Run bad = run("demo", "--run-dir", run.toString(), "--set", "nosuchstage.x=1");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("no stage named 'nosuchstage'"), bad.err());
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
