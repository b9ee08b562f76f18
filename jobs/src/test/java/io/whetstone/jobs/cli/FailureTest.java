package io.whetstone.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.jobs.config.ConfigException;
import io.whetstone.models.checkpoint.CheckpointFormatException;
import io.whetstone.models.optim.TrainingDivergedException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

class FailureTest {

    private static String report(Throwable thrown, int expectedCode) {
        StringWriter text = new StringWriter();
        assertEquals(expectedCode, Failure.report(thrown, "sft", new PrintWriter(text)));
        return text.toString();
    }

    @Test
    void usersErrorsAreOneLineWithExitTwoEvenInsideSparksWrapper() {
        String config = report(new ConfigException("unknown key train.lrr"), 2);
        assertEquals("whetstone sft: unknown key train.lrr", config.strip());
        String executor = report(new SparkException("Job aborted due to stage failure: Task 0 in stage 3.0 failed",
                new IllegalArgumentException("round 4 trained on no tokens")), 2);
        assertEquals("whetstone sft: round 4 trained on no tokens", executor.strip());
        String missing = report(new UncheckedIOException("cannot read", new FileNotFoundException("/data/x.gguf")), 2);
        assertTrue(missing.contains("no such file or directory: /data/x.gguf"), missing);
        String corrupt = report(new CheckpointFormatException("m.gguf: tensor blk.0 has offset past the end"), 2);
        assertFalse(corrupt.contains("\tat "), corrupt);
        assertEquals(2, Failure.of(new TrainingDivergedException("gradient norm is NaN at step 3")).exitCode);
    }

    @Test
    void bugsAndOtherFailuresKeepTheirTraceAndOtherCodes() {
        String bug = report(new IllegalStateException("no forward has run"), 70);
        assertTrue(bug.contains("internal error (a bug in Whetstone") && bug.contains("\tat "), bug);
        String wrappedBug = report(new SparkException("Job aborted", new NullPointerException("x")), 70);
        assertTrue(wrappedBug.contains("\tat "), wrappedBug);
        String disk = report(new UncheckedIOException(new IOException("No space left on device")), 1);
        assertTrue(disk.contains("failed: ") && disk.contains("No space left") && disk.contains("\tat "), disk);
    }
}
