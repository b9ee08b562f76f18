package io.whetstone.jobs.cli;

import io.whetstone.datasets.spark.DataValidationException;
import io.whetstone.jobs.config.ConfigException;
import io.whetstone.models.checkpoint.CheckpointFormatException;
import java.io.FileNotFoundException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.HashSet;
import java.util.Set;

/**
 * What kind of failure ended a command, and its exit code, so a scheduler can act on it: the user's to fix (exit 2,
 * one message, no stack trace), a bug in Whetstone (exit 70, with the trace to report), or anything else (exit 1,
 * with the trace: a lost cluster, a full disk). A guard stop is not a failure: the RL commands return 3 themselves.
 */
enum Failure {
    /** Bad config, bad data, a corrupt or hostile model file, a missing path, a model/tokenizer mismatch. */
    USER_ERROR(2),
    /** An invariant inside Whetstone broke. */
    BUG(70),
    /** Anything else: the environment failed. */
    OTHER(1);

    /** Exit code of a run stopped by an RL guard band. */
    static final int GUARD_STOP = 3;

    final int exitCode;

    Failure(int exitCode) {
        this.exitCode = exitCode;
    }

    /**
     * The kind of {@code thrown}, looking through its causes: Spark wraps an executor's exception in its own, and
     * file systems wrap a missing file in an UncheckedIOException. The first cause of a known kind decides.
     */
    static Failure of(Throwable thrown) {
        Set<Throwable> seen = new HashSet<>();
        for (Throwable t = thrown; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof ConfigException || t instanceof DataValidationException
                    || t instanceof CheckpointFormatException || t instanceof IllegalArgumentException
                    || t instanceof io.whetstone.models.optim.TrainingDivergedException || t instanceof FileNotFoundException || t instanceof NoSuchFileException
                    || t instanceof AccessDeniedException) {
                return USER_ERROR;
            }
            if (t instanceof IllegalStateException || t instanceof NullPointerException
                    || t instanceof ClassCastException || t instanceof IndexOutOfBoundsException
                    || t instanceof ArithmeticException || t instanceof AssertionError) {
                return BUG;
            }
        }
        return OTHER;
    }

    /** Prints {@code thrown} to {@code err} as its kind asks and returns the exit code. */
    static int report(Throwable thrown, String command, PrintWriter err) {
        Failure kind = of(thrown);
        String prefix = "whetstone " + command + ": ";
        switch (kind) {
            case USER_ERROR -> err.println(prefix + userMessage(thrown));
            case BUG -> {
                err.println(prefix + "internal error (a bug in Whetstone: please report it with the trace below)");
                thrown.printStackTrace(err);
            }
            default -> {
                err.println(prefix + "failed: " + thrown);
                thrown.printStackTrace(err);
            }
        }
        err.flush();
        return kind.exitCode;
    }

    /** The message of the cause that made this a user error (Spark's wrapper adds a page of stage details). */
    private static String userMessage(Throwable thrown) {
        Set<Throwable> seen = new HashSet<>();
        for (Throwable t = thrown; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof ConfigException || t instanceof DataValidationException
                    || t instanceof CheckpointFormatException || t instanceof IllegalArgumentException
                    || t instanceof io.whetstone.models.optim.TrainingDivergedException) {
                return t.getMessage();
            }
            if (t instanceof FileNotFoundException || t instanceof NoSuchFileException) {
                return "no such file or directory: " + t.getMessage();
            }
            if (t instanceof AccessDeniedException) {
                return "permission denied: " + t.getMessage();
            }
        }
        return thrown.getMessage();
    }
}
