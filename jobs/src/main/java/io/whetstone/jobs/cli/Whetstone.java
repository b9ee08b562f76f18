package io.whetstone.jobs.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The one entry point: {@code whetstone <command> [options]}. Jobs run inside spark-submit, so nothing
 * here calls System.exit except {@link #main} itself.
 */
@Command(name = "whetstone", mixinStandardHelpOptions = true, version = "whetstone 0.1.0",
        description = "Post-training of language models on Spark and Hadoop.",
        subcommands = {DemoCommand.class, PipelineCommand.class, ReportCommand.class, TaskDataCommand.class, SftCommand.class, DpoCommand.class, PreferenceDataCommand.class, EvalPreferencesCommand.class, RewardModelCommand.class, EvalRewardModelCommand.class, DistillCommand.class, DistillDataCommand.class, EvalTaskCommand.class, PerplexityCommand.class, ShowCommand.class, TtsCommand.class, PrmDataCommand.class, PrmCommand.class, EvalPrmCommand.class, GrpoCommand.class, PpoCommand.class,
                GenerateCommand.class, ConvertCommand.class, MergeCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Whetstone implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** Runs {@code args} and returns the exit code (for tests and embedding). */
    public static int execute(String... args) {
        io.whetstone.jobs.io.RunDirectory.keepCreated();
        int code;
        try {
            code = run(args);
        } catch (RuntimeException | Error e) {
            tidy();
            throw e;
        }
        if (code == 0) {
            io.whetstone.jobs.io.RunDirectory.keepCreated();
        } else {
            tidy();
        }
        return code;
    }

    /** Removes the run directories a failed command created before it wrote anything of its own. */
    private static void tidy() {
        for (String removed : io.whetstone.jobs.io.RunDirectory.discardUnstarted()) {
            System.err.println("whetstone: removed " + removed + " (created by this run, which failed before "
                    + "writing results)");
        }
    }

    /** Runs one command of a pipeline in this JVM: its exit code, its errors reported as at top level. */
    static int runNested(String... args) {
        return run(args);
    }

    private static int run(String... args) {
        CommandLine whetstone = new CommandLine(new Whetstone());
        whetstone.getSubcommands().values().forEach(Whetstone::paragraphs);
        return whetstone.setCaseInsensitiveEnumValuesAllowed(true)
                // The user's errors in one line with exit 2; bugs (70) and other failures (1) with their trace.
                .setExecutionExceptionHandler((exception, commandLine, parseResult) ->
                        Failure.report(exception, commandLine.getCommandName(), commandLine.getErr()))
                .execute(args);
    }

    /**
     * A command's description as picocli prints it: the first line (the summary the command list shows), then the
     * rest as paragraphs wrapped once to the help's width, at spaces only. The source keeps its lines short, and
     * printing each as a line wrapped them twice; picocli's own wrapping breaks file names at their dots
     * ({@code conf/pipelines/nightly.} | {@code yaml}).
     */
    static void paragraphs(CommandLine command) {
        String[] lines = command.getCommandSpec().usageMessage().description();
        if (lines.length >= 2) {
            // the getter returns the text with ${...} already resolved: escaped again for the second resolution
            String rest = String.join(" ", java.util.Arrays.copyOfRange(lines, 1, lines.length)).replace("${", "$${");
            java.util.List<String> wrapped = new java.util.ArrayList<>();
            wrapped.add(lines[0].replace("${", "$${"));
            wrapped.addAll(wrap(rest, command.getCommandSpec().usageMessage().width()));
            command.getCommandSpec().usageMessage().description(wrapped.toArray(String[]::new));
        }
    }

    /**
     * {@code text} in lines of at most {@code width} shown characters, broken at spaces (a longer word keeps a line
     * of its own). The text is in picocli's markup: {@code %n} breaks the line, {@code %%} shows one {@code %} and
     * {@code $${} shows {@code ${}.
     */
    static java.util.List<String> wrap(String text, int width) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String paragraph : text.split("(?<!%)%n", -1)) {
            StringBuilder line = new StringBuilder();
            int shown = 0;
            for (String word : paragraph.strip().split(" +")) {
                if (word.isEmpty()) {
                    continue;
                }
                int length = word.replace("%%", "%").replace("$${", "${").length();
                if (shown > 0 && shown + 1 + length > width) {
                    out.add(line.toString());
                    line.setLength(0);
                    shown = 0;
                }
                if (shown > 0) {
                    line.append(' ');
                    shown++;
                }
                line.append(word);
                shown += length;
            }
            out.add(line.toString());
        }
        return out;
    }

    public static void main(String[] args) {
        io.whetstone.models.engine.NativeBuild.select();
        io.whetstone.models.engine.NativeGarbage.start();
        int code = execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }
}
