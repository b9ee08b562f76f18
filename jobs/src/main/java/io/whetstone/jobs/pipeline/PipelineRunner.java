package io.whetstone.jobs.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.config.ConfigLoader;
import io.whetstone.jobs.config.DistillDataConfig;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.config.GenerateConfig;
import io.whetstone.jobs.config.PreferenceDataConfig;
import io.whetstone.jobs.config.PrmConfig;
import io.whetstone.jobs.config.PrmDataConfig;
import io.whetstone.jobs.config.RlConfig;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.config.TtsConfig;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a pipeline's stages in dependency order, each in its own directory under the pipeline's. A stage whose
 * {@code _SUCCESS} is there and whose fingerprint ({@link StageRecord}) matches is skipped; a changed key or input
 * reruns it, and so the stages that read its outputs (their fingerprints include its own). A stage interrupted
 * with the same fingerprint runs again in its directory, where the job resumes from its own checkpoint; a stage
 * that must start over has its old directory moved to {@code .superseded/<name>} (the one before that is deleted).
 * The first failing stage ends the run with its exit code; {@code pipeline.json} records what each stage did.
 */
public final class PipelineRunner {

    private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);
    /** Output keys a stage has besides its run's end event: its directory and the last line it printed. */
    static final String DIR = "dir";
    static final String RESULT = "result";
    private static final String VERSION = "whetstone 0.1.0";

    /** The defaults of each command that takes a config, which say whether it takes run.dir and output.path. */
    private static final Map<String, String> CONFIG_DEFAULTS = Map.ofEntries(
            Map.entry("sft", SftConfig.DEFAULTS), Map.entry("distill", SftConfig.DEFAULTS),
            Map.entry("dpo", DpoConfig.DEFAULTS), Map.entry("reward-model", DpoConfig.DEFAULTS),
            Map.entry("grpo", RlConfig.DEFAULTS), Map.entry("ppo", RlConfig.DEFAULTS),
            Map.entry("preference-data", PreferenceDataConfig.DEFAULTS),
            Map.entry("distill-data", DistillDataConfig.DEFAULTS), Map.entry("prm-data", PrmDataConfig.DEFAULTS),
            Map.entry("prm", PrmConfig.DEFAULTS), Map.entry("tts", TtsConfig.DEFAULTS),
            Map.entry("generate", GenerateConfig.DEFAULTS));
    /** Keys that name what a stage writes, not what it reads. */
    private static final Set<String> OUTPUT_KEYS = Set.of("run.dir", "output.path");

    /** Which stages to run: {@code only} (empty: all) and {@code rerun} (run even when complete and unchanged). */
    public record Options(Set<String> only, Set<String> rerun) {
        public Options {
            only = Set.copyOf(only);
            rerun = Set.copyOf(rerun);
        }
    }

    /** What a stage did in this run. */
    public enum Outcome { RAN, SKIPPED, FAILED, NOT_SELECTED, NOT_REACHED }

    private final PipelineSpec spec;
    private final HadoopFiles files;
    private final StageExecutor executor;
    private final Options options;
    private final String root;
    private final Map<String, StageRecord> completed = new HashMap<>();
    private final ObjectNode summary = StageRecord.JSON.createObjectNode();

    public PipelineRunner(PipelineSpec spec, String dir, HadoopFiles files, StageExecutor executor, Options options) {
        this.spec = spec;
        this.files = files;
        this.executor = executor;
        this.options = options;
        this.root = files.qualify(dir);
    }

    /** The pipeline directory, qualified. */
    public String root() {
        return root;
    }

    /** Runs the pipeline; returns 0 or the exit code of the stage that failed. */
    public int run() {
        List<StageSpec> order = StageOrder.order(spec);
        Map<String, java.util.Set<String>> deps = StageOrder.dependencies(spec);
        for (String name : concat(options.only(), options.rerun())) {
            if (order.stream().noneMatch(stage -> stage.name().equals(name))) {
                throw new ConfigException("no stage named '" + name + "' in " + spec.file() + " (stages: "
                        + order.stream().map(StageSpec::name).toList() + ")");
            }
        }
        checkForgettingCorpora();
        files.mkdirs(new Path(root));
        long started = System.nanoTime();
        summary.put("pipeline", spec.file().toString());
        summary.put("dir", root);
        summary.put("started", Instant.now().toString());
        ArrayNode stages = summary.putArray("stages");
        try (PipelineLock lock = PipelineLock.acquire(files, root)) {
            int code = 0;
            for (StageSpec stage : order) {
                ObjectNode line = stages.addObject().put("name", stage.name()).put("command", stage.command());
                if (code != 0) {
                    line.put("outcome", Outcome.NOT_REACHED.name().toLowerCase());
                    continue;
                }
                if (!options.only().isEmpty() && !options.only().contains(stage.name())) {
                    StageRecord record = StageRecord.read(files, dir(stage));
                    if (record != null && complete(stage)) {
                        completed.put(stage.name(), record);
                    }
                    line.put("outcome", Outcome.NOT_SELECTED.name().toLowerCase());
                    continue;
                }
                code = runStage(stage, deps.get(stage.name()), line);
                if (code == 0) {
                    code = measureForgetting(stage, line);
                }
                writeSummary(started);
            }
            writeSummary(started);
            return code;
        }
    }

    private int runStage(StageSpec stage, Set<String> deps, ObjectNode line) {
        String dir = dir(stage);
        for (String dep : deps) {
            if (!completed.containsKey(dep)) {
                throw new ConfigException("stage '" + stage.name() + "' reads the outputs of stage '" + dep
                        + "', which has not completed in " + root + "; run it too");
            }
        }
        StageRecord planned = plan(stage, deps);
        StageRecord previous = StageRecord.read(files, dir);
        boolean done = complete(stage);
        if (done && previous != null && planned.fingerprint().equals(previous.fingerprint())
                && !options.rerun().contains(stage.name())) {
            LOG.info("Stage {}: complete and unchanged, skipped ({})", stage.name(), dir);
            System.out.println("stage " + stage.name() + ": skipped (complete, nothing changed)");
            completed.put(stage.name(), previous);
            line.put("outcome", Outcome.SKIPPED.name().toLowerCase());
            return 0;
        }
        String reason = reason(stage, planned, previous, done);
        boolean resume = !done && previous != null && planned.fingerprint().equals(previous.fingerprint());
        if (!resume && files.exists(new Path(dir))) {
            supersede(stage, dir);
        }
        files.mkdirs(new Path(dir));
        LOG.info("Stage {}: {}; running: whetstone {}", stage.name(), reason, String.join(" ", planned.argv()));
        System.out.println("stage " + stage.name() + ": " + reason + "; running " + stage.command());
        planned.write(files, dir);
        long start = System.nanoTime();
        io.whetstone.jobs.io.ProcessMemory.resetPeak();
        StageExecutor.Execution execution = executor.execute(planned.argv());
        double seconds = (System.nanoTime() - start) / 1e9;
        line.put("reason", reason).put("seconds", seconds).put("exit_code", execution.exitCode());
        // this JVM's memory over the stage: in local mode the executors' too
        line.set("memory", io.whetstone.jobs.io.ProcessMemory.snapshot());
        if (execution.exitCode() != 0) {
            planned.finish("failed", execution.exitCode(), seconds, Map.of()).write(files, dir);
            line.put("outcome", Outcome.FAILED.name().toLowerCase());
            System.out.println("stage " + stage.name() + ": failed with exit code " + execution.exitCode());
            return execution.exitCode();
        }
        Map<String, String> outputs = new TreeMap<>(endEvent(dir));
        outputs.put(DIR, dir);
        if (execution.lastLine() != null) {
            outputs.put(RESULT, execution.lastLine());
        }
        // Fingerprinted again now that it ran: a path it read may be one it also wrote (task-data's extra corpus,
        // an output.path outside its directory), and the next run must compare with what it left, not with what
        // it found.
        StageRecord record = planned.refingerprinted(plan(stage, deps)).finish("done", 0, seconds, outputs);
        record.write(files, dir);
        files.writeBytes(new Path(dir, "_SUCCESS"), new byte[0]);
        completed.put(stage.name(), record);
        line.put("outcome", Outcome.RAN.name().toLowerCase());
        System.out.println(String.format("stage %s: done in %.1f min", stage.name(), seconds / 60));
        return 0;
    }

    /**
     * A forgetting corpus that no stage writes must exist before the first stage runs: a typo would otherwise end
     * the pipeline after its first trained model, hours in.
     */
    private void checkForgettingCorpora() {
        if (spec.forgetting() == null) {
            return;
        }
        spec.forgetting().corpora().forEach((name, corpus) -> {
            if (!Placeholders.stagesIn(corpus.path()).isEmpty() || corpus.path().contains("${stage.")) {
                return; // written by a stage, which runs before the models are measured on it
            }
            String where = spec.file() + ": forgetting.corpora." + name;
            String path = Placeholders.substitute(corpus.path(), placeholder -> lookup(placeholder, root), where);
            boolean exists;
            try {
                exists = files.exists(new Path(path));
            } catch (RuntimeException e) {
                exists = false;
            }
            if (!exists) {
                throw new ConfigException(where + ".path: " + path + " does not exist");
            }
        });
    }

    /** The pipeline's {@code forgetting} measurement of a stage's model (see {@link ForgettingMeasurement}). */
    private int measureForgetting(StageSpec stage, ObjectNode line) {
        StageRecord record = completed.get(stage.name());
        if (spec.forgetting() == null || !ForgettingSpec.MEASURED.contains(stage.command()) || record == null
                || record.outputs() == null || record.outputs().get("checkpoint") == null) {
            return 0;
        }
        String dir = dir(stage);
        return new ForgettingMeasurement(spec.forgetting(), files, executor).measure(stage.name(), dir, record,
                (text, where) -> Placeholders.substitute(text, name -> lookup(name, dir), spec.file() + ": " + where),
                line.putObject("forgetting"));
    }

    /** The stage's command line (placeholders filled in) and fingerprint. */
    StageRecord plan(StageSpec stage, Set<String> deps) {
        String dir = dir(stage);
        String where = spec.file() + ": stage '" + stage.name() + "'";
        List<String> argv = new ArrayList<>();
        argv.add(stage.command());
        Map<String, String> configPaths = new TreeMap<>();
        String configSha = null;
        if (stage.config() != null) {
            argv.add("--config");
            argv.add(stage.config());
            configPaths.putAll(ConfigLoader.pathValues(java.nio.file.Path.of(stage.config())));
            try {
                configSha = Fingerprints.sha256(Files.readString(java.nio.file.Path.of(stage.config())));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + stage.config(), e);
            }
        }
        Map<String, String> set = new LinkedHashMap<>();
        stage.set().forEach((key, value) -> set.put(key, Placeholders.substitute(value, name -> lookup(name, dir),
                where + ", set " + key)));
        addStageKeys(stage.command(), set, dir);
        set.forEach((key, value) -> argv.add(key + "=" + value));
        List<String> args = stage.args().stream()
                .map(arg -> Placeholders.substitute(arg, name -> lookup(name, dir), where + ", args")).toList();
        argv.addAll(args);

        Map<String, String> inputs = new TreeMap<>();
        configPaths.forEach((key, value) -> addInput(inputs, key, value, dir));
        set.forEach((key, value) -> {
            if (ConfigLoader.isPathKey(key)) {
                addInput(inputs, key, value, dir);
            }
        });
        for (String arg : args) {
            if (!arg.startsWith("-") && !arg.contains("=") && !arg.isBlank() && looksLikePath(arg)) {
                addInput(inputs, arg, arg, dir);
            }
        }
        Map<String, String> upstream = new TreeMap<>();
        deps.forEach(dep -> upstream.put(dep, completed.get(dep).fingerprint()));
        ObjectNode material = StageRecord.JSON.createObjectNode().put("version", VERSION);
        material.putPOJO("argv", argv);
        material.put("config", configSha);
        material.putPOJO("inputs", inputs);
        material.putPOJO("upstream", upstream);
        String fingerprint = Fingerprints.sha256(material.toString());
        return new StageRecord(stage.name(), stage.command(), argv, fingerprint, configSha, inputs, upstream,
                "running", null, Instant.now().toString(), null, null);
    }

    /**
     * Adds to a stage's settings what the pipeline decides for it, unless its {@code set} names them: every stage
     * writes under its own directory, whatever its config file says ({@code conf/*.yaml} write under {@code runs/},
     * and a dated nightly directory must hold all of a night's output): {@code run.dir} is the stage's directory
     * and {@code output.path} {@code <dir>/output}.
     */
    public static void addStageKeys(String command, Map<String, String> set, String dir) {
        String defaults = CONFIG_DEFAULTS.get(command);
        if (defaults != null && ConfigLoader.hasKey(defaults, "run.dir") && !set.containsKey("run.dir")) {
            set.put("run.dir", dir);
        }
        if (defaults != null && ConfigLoader.hasKey(defaults, "output.path") && !set.containsKey("output.path")) {
            set.put("output.path", new Path(dir, "output").toString());
        }
    }

    private void addInput(Map<String, String> inputs, String key, String value, String dir) {
        if (OUTPUT_KEYS.contains(key) || key.endsWith("cache_dir") || value.isBlank()) {
            return;
        }
        String qualified = files.qualify(value);
        if (qualified.startsWith(dir + "/") || qualified.equals(dir)) {
            return; // the stage's own files
        }
        inputs.put(qualified, Fingerprints.of(files, qualified));
    }

    private boolean looksLikePath(String arg) {
        try {
            return files.exists(new Path(arg));
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The value of placeholder {@code name} for the stage in {@code dir}. */
    private String lookup(String name, String dir) {
        String[] parts = name.split("\\.", 3);
        return switch (parts[0]) {
            case "pipeline" -> parts.length != 2 ? null : parts[1].equals("dir") ? root
                    : parts[1].equals("file_dir") ? spec.file().toAbsolutePath().normalize().getParent().toString() : null;
            case "stage" -> parts.length == 2 && parts[1].equals("dir") ? dir : null;
            case "env" -> parts.length == 2 ? System.getenv(parts[1]) : null;
            case "vars" -> parts.length == 2 ? spec.vars().get(parts[1]) : null;
            case "stages" -> {
                if (parts.length != 3 || !completed.containsKey(parts[1])) {
                    yield null;
                }
                Map<String, String> outputs = completed.get(parts[1]).outputs();
                String value = outputs == null ? null : outputs.get(parts[2]);
                if (value == null) {
                    throw new ConfigException(spec.file() + ": stage '" + parts[1] + "' has no output '" + parts[2]
                            + "' (it has: " + (outputs == null ? "none" : String.join(", ", outputs.keySet())) + ")");
                }
                yield value;
            }
            default -> null;
        };
    }

    /** Why a stage runs, for the log: what differs from the run recorded in its directory. */
    private String reason(StageSpec stage, StageRecord planned, StageRecord previous, boolean done) {
        if (previous == null) {
            return "not run before";
        }
        if (done && planned.fingerprint().equals(previous.fingerprint())) {
            return "rerun asked for";
        }
        if (!done && planned.fingerprint().equals(previous.fingerprint())) {
            return "interrupted before, resuming";
        }
        List<String> changes = new ArrayList<>();
        if (!planned.argv().equals(previous.argv())) {
            changes.add("command line changed");
        }
        if (!java.util.Objects.equals(planned.configSha256(), previous.configSha256())) {
            changes.add("config file " + stage.config() + " changed");
        }
        if (previous.inputs() != null) {
            planned.inputs().forEach((path, fingerprint) -> {
                if (!fingerprint.equals(previous.inputs().get(path))) {
                    changes.add("input " + path + " changed");
                }
            });
        }
        if (previous.upstream() != null && !planned.upstream().equals(previous.upstream())) {
            planned.upstream().forEach((name, fingerprint) -> {
                if (!fingerprint.equals(previous.upstream().get(name))) {
                    changes.add("stage " + name + " changed");
                }
            });
        }
        if (changes.isEmpty()) {
            changes.add("Whetstone version changed");
        }
        return String.join(", ", changes) + (done ? "" : " (its interrupted run is set aside)");
    }

    private void supersede(StageSpec stage, String dir) {
        Path target = new Path(new Path(root, ".superseded"), stage.name());
        FileSystem fs = files.fs(target);
        try {
            if (fs.exists(target)) {
                fs.delete(target, true);
            }
            fs.mkdirs(target.getParent());
            if (!fs.rename(new Path(dir), target)) {
                throw new IOException("rename returned false");
            }
            LOG.info("Stage {}: its earlier output is set aside in {}", stage.name(), target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move " + dir + " aside to " + target, e);
        }
    }

    /** The fields of the last {@code end} event in the stage's {@code metrics.jsonl} (none if it has none). */
    private Map<String, String> endEvent(String dir) {
        Map<String, String> fields = new TreeMap<>();
        Path metrics = new Path(dir, "metrics.jsonl");
        if (!files.exists(metrics)) {
            return fields;
        }
        String[] lines = new String(files.readBytes(metrics), StandardCharsets.UTF_8).split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            try {
                JsonNode event = StageRecord.JSON.readTree(lines[i]);
                if (event != null && "end".equals(event.path("event").asText())) {
                    event.fields().forEachRemaining(field -> {
                        if (field.getValue().isValueNode() && !field.getValue().isNull()
                                && !field.getKey().equals("event")) {
                            fields.put(field.getKey(), field.getValue().asText());
                        }
                    });
                    return fields;
                }
            } catch (IOException e) {
                // a line cut by a crash: look further up
            }
        }
        return fields;
    }

    private boolean complete(StageSpec stage) {
        return files.exists(new Path(dir(stage), "_SUCCESS"));
    }

    private String dir(StageSpec stage) {
        return new Path(root, stage.name()).toString();
    }

    private void writeSummary(long started) {
        summary.put("seconds", (System.nanoTime() - started) / 1e9);
        try {
            files.writeBytes(new Path(root, "pipeline.json"),
                    StageRecord.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> concat(Set<String> a, Set<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
