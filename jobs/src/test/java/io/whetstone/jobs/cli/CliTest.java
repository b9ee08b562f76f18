package io.whetstone.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {

    private static Run run(String... args) {
        return Run.of(args);
    }

    @Test
    void helpListsTheCommands() {
        Run help = run("--help");
        assertEquals(0, help.code());
        for (String command : new String[] {"demo", "sft", "bench"}) {
            assertTrue(help.out().contains(command), help.out());
        }
        Run sft = run("sft", "--help");
        assertEquals(0, sft.code());
        assertTrue(sft.out().contains("--config"), sft.out());
        assertEquals(0, run("bench", "--help").code());
        assertEquals(0, run("demo", "--help").code());
    }

    /**
     * Every command's help renders without picocli's warnings (an unescaped % in a description), without a
     * placeholder resolved to "null" (an unescaped ${...}), and wraps its description once (no line of it ends
     * short before a line that would have fitted on it, and no file name is broken at its dot).
     */
    @Test
    void everyCommandsHelpRendersCleanly() {
        Map<String, picocli.CommandLine> commands = new picocli.CommandLine(new Whetstone()).getSubcommands();
        for (String name : commands.keySet()) {
            if (name.equals("help")) {
                continue;
            }
            Run help = run(name, "--help");
            String source = String.join(" ", commands.get(name).getCommandSpec().usageMessage().description());
            assertEquals(0, help.code(), name);
            assertTrue(!help.err().contains("WARN") && !help.out().contains("WARN"), name + ": " + help.err());
            assertTrue(!help.out().contains(" null "), name + ": " + help.out());
            String[] lines = help.out().split("\n");
            for (int i = 1; i + 1 < lines.length && !lines[i + 1].startsWith(" "); i++) {
                String next = lines[i + 1].strip();
                if (next.isEmpty() || lines[i].isBlank() || lines[i].startsWith(" ") || lines[i].startsWith("Usage")) {
                    continue;
                }
                String lastWord = lines[i].substring(lines[i].lastIndexOf(' ') + 1);
                String nextWord = next.split(" ", 2)[0];
                assertTrue(!(" " + source + " ").contains(" " + lastWord + nextWord + " "),
                        name + ": '" + lastWord + nextWord + "' broken across lines: '" + lines[i] + "'");
                int firstWord = next.indexOf(' ') < 0 ? next.length() : next.indexOf(' ');
                boolean sentenceEnd = lines[i].endsWith(".") || lines[i].endsWith(":");
                assertTrue(sentenceEnd || lines[i].length() + 1 + firstWord > 70,
                        name + ": line wrapped short: '" + lines[i] + "' before '" + next + "'");
            }
        }
    }

    /** The command list shows each command's first description line: it must be a whole sentence. */
    @Test
    void everyCommandSummaryIsAWholeSentence() {
        picocli.CommandLine cli = new picocli.CommandLine(new Whetstone());
        cli.getSubcommands().forEach((name, command) -> {
            if (name.equals("help")) {
                return; // picocli's own; the list shows its header
            }
            String[] description = command.getCommandSpec().usageMessage().description();
            assertTrue(description.length > 0, name);
            String first = description[0].strip();
            assertTrue(first.endsWith(".") && Character.isUpperCase(first.charAt(0)),
                    name + "'s summary is cut off in the command list: " + first);
        });
    }

    @Test
    void configErrorsExitWithTheKeyAndNoStackTrace() {
        Run run = run("sft", "data.path=/x", "train.lrr=1");
        assertEquals(2, run.code());
        assertTrue(run.err().contains("unknown key train.lrr"), run.err());
        assertTrue(!run.err().contains("\tat "), run.err());
        Run missing = run("sft");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("data.path must be set"), missing.err());
    }

    /**
     * A run refused for bad data exits 2 with the file, line and field, and leaves no half-made run directory (it
     * left config.resolved.yaml behind); a run directory that existed before is kept.
     */
    /** The same with a chat template file that refuses a record: the run's template date file is its own, too. */
    @Test
    void aConversationTheTemplateRefusesLeavesNoRunDirectory(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("chat.jsonl");
        Files.writeString(data, "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", "
                + "\"content\": \"u\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}\n");
        Path template = dir.resolve("no-system.jinja");
        Files.writeString(template, "{% for m in messages %}{% if m.role == 'system' %}"
                + "{{ raise_exception('no system turns') }}{% endif %}{{ m.content + eos_token }}{% endfor %}");
        Path runDir = dir.resolve("runs/chat");
        String gguf = Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf")
                .toUri().toString();
        Run bad = run("sft", "data.path=" + data.toUri(), "data.format=messages", "run.dir=" + runDir.toUri(),
                "model.init=" + gguf, "tokenizer.chat_template=" + template.toUri(), "train.rounds=1",
                "data.seq_len=32");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("chat.jsonl:1") && bad.err().contains("no system turns"), bad.err());
        assertTrue(!Files.exists(runDir), "the failed run left " + runDir);
    }

    @Test
    void aRunRefusedForBadDataLeavesNoRunDirectory(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("bad.jsonl");
        Files.writeString(data, "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"a\"}\n");
        Path runDir = dir.resolve("runs/sft");
        Run bad = run("sft", "data.path=" + data.toUri(), "run.dir=" + runDir.toUri(), "train.rounds=1",
                "model.width=16", "model.layers=1", "model.heads=2", "model.ffn_hidden=32", "data.seq_len=32");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("bad.jsonl") && bad.err().contains("completion"), bad.err());
        assertTrue(!bad.err().contains("\tat "), bad.err());
        assertTrue(!Files.exists(runDir), "the failed run left " + runDir);
        assertTrue(!Files.exists(dir.resolve("runs/_cache")) || Files.list(dir.resolve("runs/_cache"))
                .noneMatch(p -> p.getFileName().toString().contains("_tmp-")), "a temporary cache was left behind");

        Files.createDirectories(runDir);
        Files.writeString(runDir.resolve("notes.txt"), "mine");
        assertEquals(2, run("sft", "data.path=" + data.toUri(), "run.dir=" + runDir.toUri(), "train.rounds=1").code());
        assertTrue(Files.exists(runDir.resolve("notes.txt")), "a directory that existed before is the user's");
    }

    /** Corrupt model files and missing paths are the user's to fix: one line naming the file, exit 2, no trace. */
    @Test
    void corruptModelsAndMissingPathsExitTwoWithoutATrace(@TempDir Path dir) throws Exception {
        Path garbage = dir.resolve("model.gguf");
        Files.write(garbage, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 1, 0, 0, 0, 0, 0, 0, 0});
        Run corrupt = run("convert", "--from", garbage.toString(), "--to", dir.resolve("out").toString());
        assertEquals(2, corrupt.code(), corrupt.err());
        assertTrue(corrupt.err().contains("model.gguf"), corrupt.err());
        assertTrue(!corrupt.err().contains("\tat "), corrupt.err());

        Path safetensors = dir.resolve("hf");
        Files.createDirectories(safetensors);
        Files.writeString(safetensors.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 8}");
        Files.write(safetensors.resolve("model.safetensors"), new byte[] {(byte) 0xff, 0, 0, 0, 0, 0, 0, 0, '{'});
        Run truncated = run("convert", "--from", safetensors.toString(), "--to", dir.resolve("out2").toString());
        assertEquals(2, truncated.code(), truncated.err());
        assertTrue(!truncated.err().contains("\tat "), truncated.err());

        Path data = dir.resolve("d.jsonl");
        Files.writeString(data, "{\"prompt\": \"a\", \"completion\": \"b\"}\n");
        Run missing = run("sft", "data.path=" + data.toUri(), "run.dir=" + dir.resolve("run").toUri(),
                "model.init=" + dir.resolve("no-such-model.gguf"));
        assertEquals(2, missing.code(), missing.err());
        assertTrue(missing.err().contains("no-such-model.gguf") && !missing.err().contains("\tat "), missing.err());
    }

    /** perplexity scores a checkpoint on a corpus as the SFT job's held-out evaluation did at its last round. */
    @Test
    void perplexityAgreesWithTheTrainingsHeldOutLoss(@TempDir Path dir) throws Exception {
        Path data = io.whetstone.jobs.TestData.write(dir, "train.jsonl",
                io.whetstone.jobs.TestData.promptCompletionLines(60, 4));
        Path heldOut = io.whetstone.jobs.TestData.write(dir, "heldout.jsonl",
                io.whetstone.jobs.TestData.promptCompletionLines(20, 99));
        List<String> settings = io.whetstone.jobs.TestData.tinySft(data, dir.resolve("run"));
        settings.addAll(List.of("train.rounds=2", "eval.path=" + heldOut.toUri()));
        io.whetstone.jobs.sft.SftResult trained = new io.whetstone.jobs.sft.SftJob(
                io.whetstone.jobs.SparkTestSession.get(), io.whetstone.jobs.config.SftConfig.load(null, settings)).run();
        JsonNode last = null;
        for (String line : Files.readAllLines(dir.resolve("run/metrics.jsonl"))) {
            JsonNode node = new ObjectMapper().readTree(line);
            if (node.has("eval_loss")) {
                last = node;
            }
        }
        Run run = run("perplexity", "--data", heldOut.toUri().toString(), "--seq-len", "48", trained.checkpoint());
        assertEquals(0, run.code(), run.err());
        JsonNode result = new ObjectMapper().readTree(run.out().strip().lines().reduce((a, b) -> b).orElseThrow());
        assertEquals(last.get("eval_loss").asDouble(), result.get("loss").asDouble(), 1e-5);
        assertEquals(last.get("eval_tokens").asLong(), result.get("tokens").asLong());
        assertEquals(Math.exp(result.get("loss").asDouble()), result.get("perplexity").asDouble(), 1e-9);
    }

    /** show prints JSONL or Parquet outputs as text: filtered, limited, long text indented. */
    @Test
    void showPrintsOutputsAsText(@TempDir Path dir) throws Exception {
        Path jsonl = dir.resolve("rollouts.jsonl");
        Files.writeString(jsonl, "{\"prompt\": \"What is 2 + 2?\", \"completion\": \"2+2=4.\\n#### 4\", \"reward\": 1.0}\n"
                + "{\"prompt\": \"What is 3 + 3?\", \"completion\": \"#### 7\", \"reward\": 0.0}\n");
        Run low = run("show", "--where", "reward < 0.5", jsonl.toString());
        assertEquals(0, low.code(), low.err());
        assertTrue(low.out().contains("completion: #### 7") && low.out().contains("(1 of 1 records where reward < 0.5)")
                && !low.out().contains("2 + 2"), low.out());
        Run multi = run("show", "--limit", "1", "--fields", "completion,reward", jsonl.toString());
        assertTrue(multi.out().contains("completion:\n    2+2=4.\n    #### 4") && !multi.out().contains("prompt"),
                multi.out());

        Run typo = run("show", "--where", "rewrd < 0.5", jsonl.toString());
        assertEquals(2, typo.code(), typo.err());
        assertTrue(typo.err().contains("its fields are completion, prompt, reward") && !typo.err().contains("\tat "),
                typo.err());

        Path parquet = dir.resolve("table");
        io.whetstone.jobs.SparkTestSession.get().read().json(jsonl.toString()).coalesce(1).write().parquet(
                parquet.toString());
        Run fromParquet = run("show", parquet.toString());
        assertTrue(fromParquet.out().contains("(2 of 2 records)") && fromParquet.out().contains("What is 3 + 3?"),
                fromParquet.out());
    }

    /** The demo end to end at toy size: every stage runs and summary.json lists them with their fields. */
    @Test
    void theDemoPipelineRunsEveryStageAndASecondRunSkipsThemAll(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("demo");
        List<String> args = new java.util.ArrayList<>(List.of("demo", "--run-dir", runDir.toString(),
                "--var", "train_problems=64", "--var", "heldout_problems=16", "--var", "pair_prompts=16",
                "--var", "prm_prompts=8", "--var", "prm_heldout=4", "--var", "max_new_tokens=8",
                "train.rounds=2", "train.averaging_frequency=2", "train.batch_size_per_worker=2", "model.width=32",
                "model.layers=1", "model.heads=2", "model.kv_heads=1", "model.ffn_hidden=64"));
        // a 2-round model answers nothing right: pairs by a length penalty instead of the verifier
        for (String stage : List.of("pairs", "pairs_heldout")) {
            args.addAll(List.of("--set", stage + ".pairs.keep_unfinished=true", "--set",
                    stage + ".scoring.components=[{name: short, type: length, max_tokens: 8, buffer: 6}]"));
        }
        for (String stage : List.of("dpo", "reward_model")) {
            args.addAll(List.of("--set", stage + ".train.rounds=2", "--set", stage + ".train.batch_size_per_worker=2",
                    "--set", stage + ".data.seq_len=64"));
        }
        for (String stage : List.of("prm_labels", "prm_labels_heldout")) {
            args.addAll(List.of("--set", stage + ".sampling.solutions_per_prompt=2", "--set",
                    stage + ".sampling.rollouts_per_step=2"));
        }
        args.addAll(List.of("--set", "prm.train.rounds=2", "--set", "prm.train.batch_size_per_worker=4",
                "--set", "tts.sampling.samples_per_prompt=4", "--set", "tts.budget.values=[1, 4]",
                "--set", "tts.beam.max_steps=2", "--set", "grpo.train.iterations=2",
                "--set", "grpo.rollout.prompts_per_iteration=4", "--set", "grpo.rollout.group_size=2",
                "--set", "grpo.eval.every_iterations=0", "--set", "cot.sampling.chunk_prompts=8",
                // nor does its teacher: every rationale that is not blank enters the corpus
                "--set", "cot.filter.verifier={name: any, type: format, pattern: '\\S'}"));
        for (String stage : List.of("student_sft_only", "student_sequence", "student_distilled")) {
            for (String setting : List.of("model.width=16", "model.layers=1", "model.heads=2", "model.kv_heads=1",
                    "model.ffn_hidden=32", "train.rounds=2", "train.averaging_frequency=2",
                    "train.batch_size_per_worker=2")) {
                args.addAll(List.of("--set", stage + "." + setting));
            }
        }
        Run run = run(args.toArray(String[]::new));
        assertEquals(0, run.code(), run.out() + run.err());
        JsonNode pipeline = new ObjectMapper().readTree(runDir.resolve("pipeline.json").toFile());
        List<String> names = new java.util.ArrayList<>();
        for (JsonNode stage : pipeline.get("stages")) {
            names.add(stage.get("name").asText());
            assertEquals("ran", stage.get("outcome").asText(), stage.toString());
            assertTrue(Files.exists(runDir.resolve(stage.get("name").asText()).resolve("_SUCCESS")), stage.toString());
        }
        assertEquals(23, names.size(), names.toString());
        String report = Files.readString(runDir.resolve("report.html"));
        for (String name : names) {
            assertTrue(report.contains("<section id=\"stage-" + name + "\">"), name);
        }
        for (String eval : List.of("eval_sft", "eval_dpo", "eval_grpo", "eval_reward_model", "eval_prm")) {
            assertTrue(Files.exists(runDir.resolve(eval).resolve("results.jsonl")), eval);
        }
        assertEquals(3, Files.readAllLines(runDir.resolve("eval_students/results.jsonl")).size());
        // forgetting: every trained model on the held-out solutions; DPO and GRPO next to SFT's model they start from
        for (String trained : List.of("sft", "dpo", "grpo", "student_sft_only", "student_sequence", "student_distilled")) {
            int models = Files.readAllLines(runDir.resolve(trained).resolve("forgetting/heldout_solutions/results.jsonl"))
                    .size();
            assertEquals(trained.equals("dpo") || trained.equals("grpo") ? 2 : 1, models, trained);
            assertTrue(report.contains("<tr><td>" + trained + "</td><td>heldout_solutions</td>"), trained);
        }

        Run again = run(args.toArray(String[]::new));
        assertEquals(0, again.code(), again.err());
        assertEquals(23, again.out().split("skipped \\(complete, nothing changed\\)", -1).length - 1, again.out());
        assertEquals(6, again.out().split("measured before", -1).length - 1, again.out());
    }
}
