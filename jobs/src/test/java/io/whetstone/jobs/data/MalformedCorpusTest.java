package io.whetstone.jobs.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.records.Format;
import io.whetstone.datasets.records.PreferenceFormat;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.datasets.spark.DataValidationException;
import io.whetstone.datasets.spark.PreferencePreparer;
import io.whetstone.datasets.spark.PreferenceSpec;
import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.jobs.SparkTestSession;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A corpus generator that mixes valid records with every kind of defect, for every data format: strict mode
 * refuses the corpus before training naming the count, and lenient mode rejects and writes exactly the injected
 * defects, keeps every valid record, and never crashes.
 */
class MalformedCorpusTest {

    private static final int SEQ_LEN = 64;

    /** Defects every format shares (bytes, since some are not valid UTF-8); each is one line. */
    private static List<byte[]> commonDefects(String validExample) {
        String huge = "x".repeat(300_000);
        List<String> text = List.of(
                "{\"prompt\": \"a\", \"completion\": ",                                 // cut off
                "not json at all",
                "[1, 2, 3]",                                                          // not an object
                "null",
                "\"a string\"",
                validExample + validExample,                                          // two glued records
                validExample + " trailing",
                validExample.replaceFirst("\\}$", ", \"id\": NaN}"),                  // NaN
                validExample.replaceFirst("\\}$", ", \"id\": Infinity}"),             // Infinity
                validExample.replaceFirst("\\}$", ", \"unexpected\": 1}"),            // unknown field
                validExample.replaceFirst("\\}$", ", \"note\": \"" + huge + "\"}"));  // huge line
        List<byte[]> defects = new ArrayList<>();
        for (String line : text) {
            defects.add(line.getBytes(StandardCharsets.UTF_8));
        }
        // invalid UTF-8 inside an otherwise valid record
        byte[] valid = validExample.getBytes(StandardCharsets.UTF_8);
        byte[] broken = valid.clone();
        int quote = validExample.indexOf("\": \"") + 4;
        broken[quote] = (byte) 0xff;
        broken[quote + 1] = (byte) 0xfe;
        defects.add(broken);
        return defects;
    }

    private static List<byte[]> utf8(String... lines) {
        return Stream.of(lines).map(l -> l.getBytes(StandardCharsets.UTF_8)).toList();
    }

    /** A format's valid records (i -> line) and its own defects. */
    private record Case(String name, IntFunction<String> valid, List<byte[]> ownDefects) {
    }

    private static final String LONG = "y".repeat(200);

    private static List<Case> sftCases() {
        return List.of(
                new Case("prompt_completion", i -> "{\"prompt\": \"q" + i + " \", \"completion\": \"a" + i + "\"}",
                        utf8("{\"prompt\": 3, \"completion\": \"a\"}", "{\"prompt\": null, \"completion\": \"a\"}",
                                "{\"prompt\": \"q\", \"completion\": \"\"}", "{\"prompt\": \"q\"}",
                                "{\"prompt\": \"q\", \"completion\": [\"a\"]}",
                                "{\"prompt\": \"q\", \"completion\": \"" + LONG + "\"}")),
                new Case("messages", i -> "{\"messages\": [{\"role\": \"user\", \"content\": \"q" + i + "\"}, "
                        + "{\"role\": \"assistant\", \"content\": \"a" + i + "\"}]}",
                        utf8("{\"messages\": []}",
                                "{\"messages\": [{\"role\": \"wizard\", \"content\": \"q\"}, {\"role\": \"assistant\", "
                                        + "\"content\": \"a\"}]}",
                                "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", "
                                        + "\"content\": \"\"}]}",
                                "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}",
                                "{\"messages\": [{\"role\": \"user\", \"content\": null}, {\"role\": \"assistant\", "
                                        + "\"content\": \"a\"}]}",
                                "{\"messages\": [{\"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}",
                                "{\"messages\": \"hello\"}",
                                "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", "
                                        + "\"content\": \"" + LONG + "\"}]}")),
                new Case("gsm8k", i -> "{\"question\": \"q" + i + "\", \"answer\": \"#### " + i + "\"}",
                        utf8("{\"question\": \"q\"}", "{\"question\": \"\", \"answer\": \"#### 1\"}",
                                "{\"question\": 7, \"answer\": \"#### 1\"}", "{\"question\": \"q\", \"answer\": null}",
                                "{\"question\": \"q\", \"answer\": \"" + LONG + "\"}")));
    }

    private static List<Case> preferenceCases() {
        return List.of(
                new Case("paired", i -> "{\"prompt\": \"q" + i + " \", \"chosen\": \"good" + i + "\", \"rejected\": "
                        + "\"bad" + i + "\"}",
                        utf8("{\"prompt\": \"q\", \"chosen\": \"same\", \"rejected\": \"same\"}",
                                "{\"prompt\": \"q\", \"chosen\": \"a\"}",
                                "{\"prompt\": \"q\", \"chosen\": \"\", \"rejected\": \"b\"}",
                                "{\"prompt\": \"q\", \"chosen\": 1, \"rejected\": \"b\"}",
                                "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": \"big\"}",
                                "{\"prompt\": \"q\", \"chosen\": \"" + LONG + "\", \"rejected\": \"b\"}")),
                new Case("unpaired", i -> "{\"prompt\": \"q" + i + " \", \"completion\": \"a" + i + "\", \"label\": "
                        + (i % 2 == 0) + "}",
                        utf8("{\"prompt\": \"q\", \"completion\": \"a\", \"label\": \"yes\"}",
                                "{\"prompt\": \"q\", \"completion\": \"a\"}",
                                "{\"prompt\": \"q\", \"completion\": \"\", \"label\": true}",
                                "{\"prompt\": \"q\", \"completion\": \"a\", \"label\": null}",
                                "{\"prompt\": \"q\", \"completion\": \"" + LONG + "\", \"label\": true}")),
                new Case("implicit_prompt", i -> "{\"chosen\": \"Human: q" + i + " Assistant: good" + i + "\", "
                        + "\"rejected\": \"Human: q" + i + " Assistant: bad" + i + "\"}",
                        utf8("{\"chosen\": \"Human: q Assistant: a\", \"rejected\": \"Human: q Assistant: a\"}",
                                "{\"chosen\": \"Human: q Assistant: a\"}",
                                "{\"chosen\": null, \"rejected\": \"Human: q Assistant: b\"}")));
    }

    /** Valid records with the defects spread among them; returns the defect count. */
    private static int write(Path file, Case c, int validCount) throws IOException {
        List<byte[]> defects = new ArrayList<>(commonDefects(c.valid().apply(0)));
        defects.addAll(c.ownDefects());
        List<byte[]> lines = new ArrayList<>();
        for (int i = 0; i < validCount; i++) {
            lines.add(c.valid().apply(i).getBytes(StandardCharsets.UTF_8));
        }
        Random random = new Random(c.name().hashCode());
        for (byte[] defect : defects) {
            lines.add(random.nextInt(lines.size() + 1), defect);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] line : lines) {
            out.write(line);
            out.write('\n');
        }
        Files.write(file, out.toByteArray());
        return defects.size();
    }

    private static long rejectLines(Path rejects) throws IOException {
        if (!Files.exists(rejects)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(rejects)) {
            long total = 0;
            for (Path part : files.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                total += Files.readAllLines(part).stream().filter(l -> !l.isBlank()).count();
            }
            return total;
        }
    }

    @Test
    void everySftFormatRejectsExactlyTheInjectedDefects(@TempDir Path dir) throws IOException {
        int valid = 40;
        for (Case c : sftCases()) {
            Path file = dir.resolve(c.name() + ".jsonl");
            int defects = write(file, c, valid);
            Format format = Format.parse(c.name());
            CorpusSpec strict = new CorpusSpec(file.toUri().toString(), format, "auto", CorpusSpec.Validation.STRICT,
                    SEQ_LEN, true, CorpusSpec.Truncation.ERROR, dir.resolve("cache").toUri().toString());
            DataValidationException refused = assertThrows(DataValidationException.class,
                    () -> new CorpusPreparer(SparkTestSession.get()).prepare(strict, new ByteTokenizer(), 2,
                            dir.resolve("rejects-strict-" + c.name()).toString()), c.name());
            assertEquals(defects, refused.count(), c.name() + ": " + refused.getMessage());

            CorpusSpec lenient = new CorpusSpec(file.toUri().toString(), format, "auto", CorpusSpec.Validation.LENIENT,
                    SEQ_LEN, true, CorpusSpec.Truncation.ERROR, dir.resolve("cache").toUri().toString());
            Path rejects = dir.resolve("rejects-" + c.name());
            CorpusPreparer.Prepared prepared = new CorpusPreparer(SparkTestSession.get()).prepare(lenient,
                    new ByteTokenizer(), 2, rejects.toString());
            assertEquals(valid + defects, prepared.stats().records(), c.name());
            assertEquals(defects, prepared.stats().rejected(), c.name());
            assertEquals(valid, prepared.stats().examples(), c.name() + ": every valid record is kept");
            assertEquals(defects, rejectLines(rejects), c.name() + ": every reject is written with its reason");
        }
    }

    @Test
    void everyPreferenceFormatRejectsExactlyTheInjectedDefects(@TempDir Path dir) throws IOException {
        int valid = 30;
        for (Case c : preferenceCases()) {
            Path file = dir.resolve(c.name() + ".jsonl");
            int defects = write(file, c, valid);
            PreferenceFormat format = PreferenceFormat.parse(c.name());
            PreferenceSpec strict = new PreferenceSpec(file.toUri().toString(), format, "auto",
                    CorpusSpec.Validation.STRICT, SEQ_LEN, CorpusSpec.Truncation.ERROR,
                    dir.resolve("cache").toUri().toString());
            DataValidationException refused = assertThrows(DataValidationException.class,
                    () -> new PreferencePreparer(SparkTestSession.get()).prepare(strict, new ByteTokenizer(), 2,
                            dir.resolve("rejects-strict-" + c.name()).toString()), c.name());
            assertEquals(defects, refused.count(), c.name() + ": " + refused.getMessage());

            PreferenceSpec lenient = new PreferenceSpec(file.toUri().toString(), format, "auto",
                    CorpusSpec.Validation.LENIENT, SEQ_LEN, CorpusSpec.Truncation.ERROR,
                    dir.resolve("cache").toUri().toString());
            Path rejects = dir.resolve("rejects-" + c.name());
            PreferencePreparer.Prepared prepared = new PreferencePreparer(SparkTestSession.get()).prepare(lenient,
                    new ByteTokenizer(), 2, rejects.toString());
            assertEquals(valid + defects, prepared.stats().records(), c.name());
            assertEquals(defects, prepared.stats().rejected(), c.name());
            assertEquals(valid, prepared.stats().units(), c.name() + ": every valid record is kept");
            assertEquals(defects, rejectLines(rejects), c.name() + ": every reject is written with its reason");
        }
    }
}
