package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.pipeline.PipelineLock;
import io.whetstone.jobs.pipeline.PipelineRunner;
import io.whetstone.jobs.pipeline.PipelineSpec;
import io.whetstone.jobs.pipeline.StageExecutor;
import io.whetstone.jobs.report.RunReport;
import io.whetstone.jobs.spark.SparkRuntime;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code whetstone pipeline}: the stages of a pipeline file, in dependency order, then the run report. */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = {"Runs the stages of a pipeline file in dependency order, then writes the run report.",
                "Each stage is a Whetstone command with its config and key=value settings; a stage may read an earlier",
                "stage's outputs through $${stages.NAME.checkpoint} (or .dir, .result, or any field of its end event).",
                "A stage that completed with the same command line, config file, inputs and upstream stages is skipped;",
                "a changed one reruns with the stages after it; an interrupted one resumes from its checkpoint.",
                "A lock in the pipeline directory refuses a second concurrent run. With a 'forgetting' section, every",
                "model a stage trains is scored on its held-out corpora next to the model it started from.",
                "See conf/pipelines/nightly.yaml and the README.",
                "Exit codes: 0 done, 2 user error, 3 stopped by a guard, 75 the directory is locked by another run,",
                "other codes a failure (the failing stage's code). Prints the report's path on the last line."})
public final class PipelineCommand implements Callable<Integer> {

    /** Exit code when another run holds the pipeline directory (EX_TEMPFAIL: try again later). */
    static final int LOCKED = 75;

    @Option(names = "--config", required = true, description = "the pipeline file (see conf/pipelines/nightly.yaml)")
    Path config;

    @Option(names = "--dir", description = "the pipeline directory (default: the file's 'dir')")
    String dir;

    @picocli.CommandLine.Mixin
    StageSelection stages = new StageSelection();

    @Option(names = "--no-report", description = "do not write report.html at the end")
    boolean noReport;

    @Override
    public Integer call() {
        return run("pipeline", config, dir, stages, List.of(), !noReport);
    }

    /**
     * Runs pipeline file {@code file} in {@code dir} (null: the file's own {@code dir}) and, if asked, writes the
     * report; returns the exit code. {@code command} names the command in messages.
     */
    static int run(String command, Path file, String dir, StageSelection selection, List<String> moreSettings,
                   boolean report) {
        List<String> settings = new ArrayList<>(moreSettings);
        settings.addAll(selection.settings);
        PipelineSpec spec = withSettings(PipelineSpec.read(file, commands()).withVars(selection.vars), settings);
        String directory = dir != null ? dir : spec.dir();
        if (directory == null || directory.isBlank()) {
            throw new ConfigException(file + ": no pipeline directory: set 'dir' in the file or pass --dir");
        }
        SparkSession spark = SparkRuntime.session("whetstone " + command);
        HadoopFiles files = new HadoopFiles(JavaSparkContext.fromSparkContext(spark.sparkContext()).hadoopConfiguration());
        PipelineRunner runner = new PipelineRunner(spec, directory, files, PipelineCommand::runStage,
                new PipelineRunner.Options(new LinkedHashSet<>(selection.only), new LinkedHashSet<>(selection.rerun)));
        int code;
        try {
            code = runner.run();
        } catch (PipelineLock.HeldException e) {
            System.err.println("whetstone " + command + ": " + e.getMessage());
            return LOCKED;
        }
        if (report) {
            System.out.println(RunReport.write(files, runner.root()));
        }
        return code;
    }

    /** The commands a stage may run: every command but the ones that run others or only print. */
    public static Set<String> commands() {
        Set<String> names = new HashSet<>(new CommandLine(new Whetstone()).getSubcommands().keySet());
        names.removeAll(Set.of("pipeline", "demo", "help"));
        return names;
    }

    /** {@code spec} with {@code --set stage.key=value} settings added to their stages. */
    static PipelineSpec withSettings(PipelineSpec spec, List<String> settings) {
        List<io.whetstone.jobs.pipeline.StageSpec> stages = new ArrayList<>(spec.stages());
        for (String setting : settings) {
            int dot = setting.indexOf('.');
            int equals = setting.indexOf('=');
            if (dot <= 0 || equals < dot) {
                throw new ConfigException("--set " + setting + ": expected stage.key=value");
            }
            String name = setting.substring(0, dot);
            int index = -1;
            for (int i = 0; i < stages.size(); i++) {
                if (stages.get(i).name().equals(name)) {
                    index = i;
                }
            }
            if (index < 0) {
                throw new ConfigException("--set " + setting + ": no stage named '" + name + "'");
            }
            io.whetstone.jobs.pipeline.StageSpec stage = stages.get(index);
            java.util.Map<String, String> set = new java.util.LinkedHashMap<>(stage.set());
            set.put(setting.substring(dot + 1, equals), setting.substring(equals + 1));
            stages.set(index, new io.whetstone.jobs.pipeline.StageSpec(stage.name(), stage.command(), stage.config(),
                    set, stage.args(), stage.after()));
        }
        return new PipelineSpec(spec.file(), spec.dir(), spec.vars(), stages, spec.forgetting());
    }

    /** Runs one stage's command line here, passing its output through and keeping its last line. */
    static StageExecutor.Execution runStage(List<String> argv) {
        PrintStream original = System.out;
        LastLine last = new LastLine(original);
        System.setOut(new PrintStream(last, true, StandardCharsets.UTF_8));
        try {
            int code = Whetstone.runNested(argv.toArray(String[]::new));
            return new StageExecutor.Execution(code, last.line());
        } finally {
            System.out.flush();
            System.setOut(original);
            releaseStageMemory(argv.get(0));
        }
    }

    /**
     * What one stage held must not stay for the next in the same JVM: cached RDDs it left persisted, the models
     * pooled for its workers, and the off-heap arrays only a garbage collection frees.
     */
    private static void releaseStageMemory(String command) {
        SparkSession.getActiveSession().foreach(spark -> {
            var persisted = spark.sparkContext().getPersistentRDDs();
            if (!persisted.isEmpty()) {
                org.slf4j.LoggerFactory.getLogger(PipelineCommand.class).info(
                        "{} left {} cached RDDs; unpersisting them", command, persisted.size());
                persisted.values().foreach(rdd -> rdd.unpersist(false));
            }
            return null;
        });
        io.whetstone.jobs.engine.ModelPool.clear();
        System.gc();
    }

    /** An output stream that writes through and remembers the last non-blank line. */
    private static final class LastLine extends OutputStream {
        private final OutputStream through;
        private final ByteArrayOutputStream current = new ByteArrayOutputStream();
        private String last;

        LastLine(OutputStream through) {
            this.through = through;
        }

        @Override
        public void write(int b) throws java.io.IOException {
            through.write(b);
            if (b == '\n') {
                String line = current.toString(StandardCharsets.UTF_8).strip();
                if (!line.isEmpty()) {
                    last = line;
                }
                current.reset();
            } else {
                current.write(b);
            }
        }

        @Override
        public void flush() throws java.io.IOException {
            through.flush();
        }

        String line() {
            String pending = current.toString(StandardCharsets.UTF_8).strip();
            return pending.isEmpty() ? last : pending;
        }
    }
}
