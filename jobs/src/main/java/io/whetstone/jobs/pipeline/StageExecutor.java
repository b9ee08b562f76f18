package io.whetstone.jobs.pipeline;

import java.util.List;

/** Runs one Whetstone command line in this JVM (the pipeline's Spark session is shared by its stages). */
@FunctionalInterface
public interface StageExecutor {

    /** The command's exit code and the last line it printed on standard output (its result, e.g. a checkpoint). */
    record Execution(int exitCode, String lastLine) {
    }

    Execution execute(List<String> argv);
}
