package io.whetstone.jobs.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline runner with a stand-in for the commands (each "run" writes a checkpoint file and an end event
 * into its run.dir, as the jobs do): order, placeholders, skipping, reruns after a change, resuming an interrupted
 * stage, exit codes, the lock, and the errors a pipeline file can have.
 */
class PipelineRunnerTest {

    private static final Set<String> COMMANDS = Set.of("sft", "dpo", "eval-task", "task-data", "grpo");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final HadoopFiles files = new HadoopFiles(new Configuration());
    /** Command lines run, in order. */
    private final List<List<String>> ran = new ArrayList<>();
    /** Exit code a stage's next run returns (default 0). */
    private final Map<String, Integer> nextCode = new HashMap<>();

    /** A command: writes <run.dir>/checkpoints/ckpt-<n> and an end event naming it; exits as told. */
    private StageExecutor.Execution fake(List<String> argv) {
        ran.add(argv);
        String runDir = argv.stream().filter(a -> a.startsWith("run.dir=")).map(a -> a.substring(8)).findFirst()
                .orElse(null);
        int code = nextCode.getOrDefault(argv.get(0), 0);
        int output = argv.indexOf("--output");
        if (output >= 0) { // a command writing where its arguments say, outside its stage directory
            try {
                Path target = Files.createDirectories(Path.of(new org.apache.hadoop.fs.Path(argv.get(output + 1)).toUri()));
                Files.writeString(target.resolve("part-" + ran.size()), "written");
                if (argv.get(0).equals("perplexity")) { // a loss per model, in order: 1.0, 1.5, ...
                    List<String> models = argv.subList(output + 2, argv.size());
                    StringBuilder results = new StringBuilder();
                    for (int i = 0; i < models.size(); i++) {
                        results.append(JSON.createObjectNode().put("model", models.get(i)).put("loss", 1.0 + 0.5 * i))
                                .append('\n');
                    }
                    Files.writeString(target.resolve("results.jsonl"), results);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        nextCode.remove(argv.get(0));
        if (runDir != null) {
            try {
                Path run = Path.of(new org.apache.hadoop.fs.Path(runDir).toUri());
                Path checkpoints = Files.createDirectories(run.resolve("checkpoints"));
                long count;
                try (var existing = Files.list(checkpoints)) {
                    count = existing.count();
                }
                Path checkpoint = Files.writeString(checkpoints.resolve("ckpt-" + (count + 1)), "weights " + argv);
                String init = argv.stream().filter(a -> a.startsWith("model.init=")).map(a -> a.substring(11))
                        .findFirst().orElse("scratch");
                Files.writeString(run.resolve("config.resolved.yaml"), "model:\n  init: " + init + "\n");
                if (code == 0) {
                    Files.writeString(run.resolve("metrics.jsonl"), "{\"round\":1,\"loss\":2.5}\n"
                            + "{\"event\":\"end\",\"checkpoint\":\"" + checkpoint + "\",\"stopped\":null}\n");
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return new StageExecutor.Execution(code, code == 0 ? "printed by " + argv.get(0) : null);
    }

    private Path pipelineFile(String yaml) throws IOException {
        return Files.writeString(dir.resolve("pipeline.yaml"), yaml);
    }

    private int run(Path file, PipelineRunner.Options options) {
        PipelineSpec spec = PipelineSpec.read(file, COMMANDS);
        return new PipelineRunner(spec, dir.resolve("out").toString(), files, this::fake, options).run();
    }

    private int run(Path file) {
        return run(file, new PipelineRunner.Options(Set.of(), Set.of()));
    }

    private List<String> commandsRun() {
        return ran.stream().map(argv -> argv.get(0)).toList();
    }

    private JsonNode summary() throws IOException {
        return JSON.readTree(dir.resolve("out/pipeline.json").toFile());
    }

    private static final String TWO_STAGES = """
            stages:
              - name: tune
                command: dpo
                set:
                  model.init: ${stages.base.checkpoint}
                  data.path: pairs.jsonl
                  train.rounds: 3
              - name: base
                command: sft
                config: sft.yaml
                set: {train.rounds: 2, data.path: data.jsonl, model.width: 8}
            """;

    private Path twoStages() throws IOException {
        Files.writeString(dir.resolve("sft.yaml"), "train:\n  lr: 0.01\n");
        Files.writeString(dir.resolve("data.jsonl"), "{}\n");
        Files.writeString(dir.resolve("pairs.jsonl"), "{}\n");
        return pipelineFile(TWO_STAGES);
    }

    @Test
    void everyTrainedModelIsMeasuredOnTheForgettingCorporaNextToTheModelItStartedFrom() throws IOException {
        Path file = twoStages();
        Path general = Files.writeString(dir.resolve("general.jsonl"), "{}\n");
        Files.writeString(file, TWO_STAGES + """
                forgetting:
                  seq_len: 64
                  corpora:
                    general: {path: general.jsonl, format: prompt_completion}
                """);
        assertEquals(0, run(file));
        assertEquals(List.of("sft", "perplexity", "dpo", "perplexity"), commandsRun(), "each model right after it");
        String baseCheckpoint = StageRecord.read(files, dir.resolve("out/base").toString()).outputs().get("checkpoint");
        String tuneCheckpoint = StageRecord.read(files, dir.resolve("out/tune").toString()).outputs().get("checkpoint");
        String tuneDir = files.qualify(dir.resolve("out/tune").toString());
        assertEquals(List.of("perplexity", "--data", files.qualify(general.toString()), "--format", "prompt_completion",
                "--seq-len", "64", "--output", tuneDir + "/forgetting/general", baseCheckpoint, tuneCheckpoint),
                ran.get(3), "DPO's starting model (SFT's checkpoint), then its own");
        assertEquals(baseCheckpoint, ran.get(1).get(ran.get(1).size() - 1), "SFT from scratch: its model alone");
        assertEquals(10, ran.get(1).size());
        JsonNode stages = summary().path("stages");
        JsonNode tune = stages.get(1).path("forgetting").path("general");
        assertEquals("tune", stages.get(1).path("name").asText());
        assertEquals(1.0, tune.path("initial_loss").asDouble(), 0);
        assertEquals(1.5, tune.path("loss").asDouble(), 0);
        assertEquals(baseCheckpoint, tune.path("initial_model").asText());
        assertFalse(stages.get(0).path("forgetting").path("general").has("initial_loss"));

        ran.clear();
        assertEquals(0, run(file));
        assertEquals(List.of(), commandsRun(), "nothing changed: nothing trained or measured again");
        assertEquals(1.5, summary().path("stages").get(1).path("forgetting").path("general").path("loss").asDouble(),
                0, "the kept measurement is reported");

        Files.writeString(general, "{}\n{}\n");
        ran.clear();
        assertEquals(0, run(file));
        assertEquals(List.of("perplexity", "perplexity"), commandsRun(), "a changed corpus: measured again, not trained");
    }

    @Test
    void aForgettingCorpusWrittenByAStageIsWaitedFor() throws IOException {
        Files.writeString(dir.resolve("data.jsonl"), "{}\n");
        Path file = pipelineFile("""
                forgetting:
                  seq_len: 64
                  corpora:
                    heldout: {path: "${stages.data.dir}/heldout.jsonl", format: gsm8k}
                stages:
                  - name: sft
                    command: sft
                    set: {data.path: data.jsonl}
                  - name: data
                    command: task-data
                    args: [--output, "${stage.dir}"]
                """);
        assertEquals(0, run(file));
        assertEquals(List.of("task-data", "sft", "perplexity"), commandsRun());
        assertTrue(ran.get(2).get(2).endsWith("/out/data/heldout.jsonl"), ran.get(2).toString());

        Path bad = pipelineFile("""
                forgetting:
                  seq_len: 64
                  corpora:
                    heldout: {path: heldout.jsonl, format: essays}
                stages:
                  - name: sft
                    command: sft
                """);
        ConfigException error = assertThrows(ConfigException.class, () -> PipelineSpec.read(bad, COMMANDS));
        assertTrue(error.getMessage().contains("forgetting.corpora.heldout.format: unknown data format 'essays'"),
                error.getMessage());

        Path missing = pipelineFile("""
                forgetting:
                  seq_len: 64
                  corpora:
                    general: {path: no-such-corpus.jsonl, format: prompt_completion}
                stages:
                  - name: sft
                    command: sft
                    set: {data.path: data.jsonl}
                """);
        ran.clear();
        ConfigException absent = assertThrows(ConfigException.class, () -> run(missing));
        assertTrue(absent.getMessage().contains("forgetting.corpora.general.path: ")
                && absent.getMessage().endsWith("no-such-corpus.jsonl does not exist"), absent.getMessage());
        assertEquals(List.of(), commandsRun(), "refused before any stage ran");
    }

    @Test
    void runsInDependencyOrderWithOutputsOfEarlierStages() throws IOException {
        Path file = twoStages();
        assertEquals(0, run(file));
        assertEquals(List.of("sft", "dpo"), commandsRun(), "base first: tune reads its checkpoint");
        List<String> base = ran.get(0);
        String baseDir = files.qualify(dir.resolve("out/base").toString());
        // the file's order of keys, paths resolved against the file's directory, the stage's run.dir added
        assertEquals(List.of("sft", "--config", dir.resolve("sft.yaml").toString(), "train.rounds=2",
                "data.path=" + dir.resolve("data.jsonl"), "model.width=8", "run.dir=" + baseDir), base);
        String checkpoint = Path.of(new org.apache.hadoop.fs.Path(baseDir).toUri()).resolve("checkpoints/ckpt-1")
                .toString();
        assertTrue(ran.get(1).contains("model.init=" + checkpoint), ran.get(1).toString());
        assertTrue(Files.exists(dir.resolve("out/base/_SUCCESS")));
        assertTrue(Files.exists(dir.resolve("out/tune/_SUCCESS")));
        StageRecord record = StageRecord.read(files, dir.resolve("out/base").toString());
        assertEquals("done", record.status());
        assertEquals("printed by sft", record.outputs().get("result"));
        assertEquals(checkpoint, record.outputs().get("checkpoint"));
        assertFalse(record.outputs().containsKey("stopped"), "null end-event fields are not outputs");
        assertFalse(Files.exists(dir.resolve("out").resolve(PipelineLock.FILE)), "the lock goes at the end");
    }

    @Test
    void completeUnchangedStagesAreSkippedAndChangesRerunWhatDependsOnThem() throws Exception {
        Path file = twoStages();
        assertEquals(0, run(file));
        ran.clear();
        assertEquals(0, run(file));
        assertEquals(List.of(), commandsRun(), "nothing changed: nothing runs");
        assertEquals("skipped", summary().path("stages").get(1).path("outcome").asText());

        // a changed input of the first stage reruns both
        Files.writeString(dir.resolve("data.jsonl"), "{}\n{}\n");
        Files.setLastModifiedTime(dir.resolve("data.jsonl"), FileTime.fromMillis(System.currentTimeMillis() + 5000));
        assertEquals(0, run(file));
        assertEquals(List.of("sft", "dpo"), commandsRun());
        assertTrue(summary().path("stages").get(0).path("reason").asText().contains("data.jsonl changed"),
                summary().toString());
        ran.clear();

        // a changed key of the second stage reruns only it; its earlier output is set aside
        Files.writeString(file, TWO_STAGES.replace("train.rounds: 3", "train.rounds: 4"));
        assertEquals(0, run(file));
        assertEquals(List.of("dpo"), commandsRun());
        assertTrue(Files.exists(dir.resolve("out/.superseded/tune/stage.json")));
        ran.clear();

        // the config file is part of what a stage depends on
        Files.writeString(dir.resolve("sft.yaml"), "train:\n  lr: 0.02\n");
        assertEquals(0, run(file));
        assertEquals(List.of("sft", "dpo"), commandsRun());
        ran.clear();

        // asked for: rerun, and so what reads it
        assertEquals(0, run(file, new PipelineRunner.Options(Set.of(), Set.of("base"))));
        assertEquals(List.of("sft", "dpo"), commandsRun());
    }

    @Test
    void aFailedStageStopsThePipelineWithItsCodeAndResumesInItsDirectory() throws Exception {
        Path file = twoStages();
        nextCode.put("sft", 3); // a guard stop
        assertEquals(3, run(file));
        assertEquals(List.of("sft"), commandsRun(), "the stage after a failure does not run");
        JsonNode stages = summary().path("stages");
        assertEquals("failed", stages.get(0).path("outcome").asText());
        assertEquals("not_reached", stages.get(1).path("outcome").asText());
        assertEquals("failed", StageRecord.read(files, dir.resolve("out/base").toString()).status());
        assertFalse(Files.exists(dir.resolve("out/base/_SUCCESS")));
        ran.clear();

        // rerun: the interrupted stage runs again in the same directory, where its checkpoint still is
        assertEquals(0, run(file));
        assertEquals(List.of("sft", "dpo"), commandsRun());
        assertTrue(Files.exists(dir.resolve("out/base/checkpoints/ckpt-1")), "the first attempt's checkpoint stays");
        assertTrue(Files.exists(dir.resolve("out/base/checkpoints/ckpt-2")));
        assertEquals("interrupted before, resuming", summary().path("stages").get(0).path("reason").asText());
        assertFalse(Files.exists(dir.resolve("out/.superseded/base")));
    }

    @Test
    void onlyRunsTheNamedStagesAndNeedsWhatTheyRead() throws IOException {
        Path file = twoStages();
        ConfigException missing = assertThrows(ConfigException.class,
                () -> run(file, new PipelineRunner.Options(Set.of("tune"), Set.of())));
        assertTrue(missing.getMessage().contains("stage 'tune' reads the outputs of stage 'base'"), missing.getMessage());
        assertEquals(0, run(file, new PipelineRunner.Options(Set.of("base"), Set.of())));
        assertEquals(List.of("sft"), commandsRun());
        assertEquals(0, run(file, new PipelineRunner.Options(Set.of("tune"), Set.of())));
        assertEquals(List.of("sft", "dpo"), commandsRun());
    }

    @Test
    void aSecondRunIsRefusedAndAStaleLockIsTakenOver() throws Exception {
        Path file = twoStages();
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(out.resolve(PipelineLock.FILE), JSON.createObjectNode().put("host", PipelineLock.host())
                .put("pid", ProcessHandle.current().pid()).put("started", "2026-01-01T00:00:00Z").toString());
        PipelineLock.HeldException held = assertThrows(PipelineLock.HeldException.class, () -> run(file));
        assertTrue(held.getMessage().contains("process " + ProcessHandle.current().pid()), held.getMessage());
        assertEquals(List.of(), commandsRun());

        Files.writeString(out.resolve(PipelineLock.FILE), JSON.createObjectNode().put("host", "elsewhere")
                .put("pid", 1).put("started", "2026-01-01T00:00:00Z").toString());
        assertThrows(PipelineLock.HeldException.class, () -> run(file), "another host's lock cannot be checked");

        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Files.writeString(out.resolve(PipelineLock.FILE), JSON.createObjectNode().put("host", PipelineLock.host())
                .put("pid", gone.pid()).put("started", "2026-01-01T00:00:00Z").toString());
        assertEquals(0, run(file), "the lock of a process that is gone is stale");
        assertEquals(List.of("sft", "dpo"), commandsRun());
        assertFalse(Files.exists(out.resolve(PipelineLock.FILE)));
    }

    @Test
    void mistakesInThePipelineFileNameTheFileStageAndKey() throws IOException {
        Files.writeString(dir.resolve("sft.yaml"), "{}\n");
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("stages:\n  - {name: a, command: sft, set: {model.init: '${stages.b.checkpoint}'}}\n",
                "refers to stage 'b', which the pipeline does not have");
        cases.put("stages:\n  - {name: a, command: sft, after: [b]}\n  - {name: b, command: sft, after: [a]}\n",
                "wait for each other (a cycle)");
        cases.put("stages:\n  - {name: a, command: sftt}\n", "command 'sftt' is not a Whetstone command");
        cases.put("stages:\n  - {name: a, command: sft, sett: {}}\n", "unknown key 'sett' in stage 'a'");
        cases.put("stages:\n  - {name: a, command: sft}\n  - {name: a, command: dpo}\n", "two stages are named 'a'");
        cases.put("stages:\n  - {name: A b, command: sft}\n", "name 'A b' must be");
        cases.put("stages:\n  - {name: a, command: sft, config: nope.yaml}\n", "nope.yaml does not exist");
        cases.put("stagez: []\n", "unknown key 'stagez'");
        cases.put("stages:\n  - {name: a, command: sft, set: {x: '${stages.a.dir}'}}\n", "refers to its own outputs");
        for (Map.Entry<String, String> entry : cases.entrySet()) {
            Path file = pipelineFile(entry.getKey());
            ConfigException error = assertThrows(ConfigException.class, () -> run(file), entry.getKey());
            assertTrue(error.getMessage().contains(entry.getValue()), error.getMessage());
            assertTrue(error.getMessage().contains("pipeline.yaml"), error.getMessage());
        }
        Path file = pipelineFile("stages:\n  - {name: a, command: sft, set: {x: '${stages.b.nope}'}}\n"
                + "  - {name: b, command: sft}\n");
        ConfigException noOutput = assertThrows(ConfigException.class, () -> run(file));
        assertTrue(noOutput.getMessage().contains("stage 'b' has no output 'nope' (it has: "), noOutput.getMessage());
        assertTrue(noOutput.getMessage().contains("checkpoint"), noOutput.getMessage());
    }

    @Test
    void aPathAStageWritesOutsideItsDirectoryIsNotAChangedInputNextTime() throws IOException {
        Path file = pipelineFile("""
                stages:
                  - name: data
                    command: task-data
                    args: [--output, "${pipeline.dir}/corpora/original"]
                  - name: base
                    command: sft
                    set: {data.path: "${pipeline.dir}/corpora/*/part-*"}
                    after: [data]
                """);
        assertEquals(0, run(file));
        assertEquals(List.of("task-data", "sft"), commandsRun());
        ran.clear();
        assertEquals(0, run(file));
        assertEquals(List.of(), commandsRun(), "its own output read back is not a change");
    }

    @Test
    void fingerprintsFollowTheListingOfAnInput() throws IOException {
        Path data = Files.createDirectories(dir.resolve("corpus"));
        Files.writeString(data.resolve("part-0.jsonl"), "{}\n");
        String before = Fingerprints.of(files, data.toString());
        assertEquals(before, Fingerprints.of(files, data.toString()));
        Files.writeString(data.resolve("part-1.jsonl"), "{}\n");
        assertFalse(before.equals(Fingerprints.of(files, data.toString())), "a new file changes it");
        assertEquals("missing", Fingerprints.of(files, dir.resolve("absent").toString()));
    }
}
