package io.whetstone.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CliTest {

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(outBytes, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(errBytes, true, StandardCharsets.UTF_8));
        try {
            int code = Whetstone.execute(args);
            return new Run(code, outBytes.toString(StandardCharsets.UTF_8), errBytes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
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
}
