package io.whetstone.jobs.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.spark.DataValidationException;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.config.GenerateConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prompts on a Hadoop path to completions with the real stories260K model, sharded over partitions. */
class GenerateJobTest {

    private static String stories() {
        return Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf").toUri().toString();
    }

    private static List<String> settings(Path prompts, Path output, int partitions) {
        return new ArrayList<>(List.of("model.path=" + stories(), "data.path=" + prompts.toUri(),
                "output.path=" + output.toUri(), "sampling.max_new_tokens=24", "sampling.temperature=0.8",
                "sampling.samples_per_prompt=2", "spark.partitions=" + partitions, "spark.threads_per_task=1",
                "spark.batch_size=3"));
    }

    @Test
    void completionsDoNotDependOnThePartitioning(@TempDir Path dir) throws IOException {
        Path prompts = dir.resolve("prompts.jsonl");
        Files.write(prompts, List.of("{\"prompt\": \"Once upon a time\"}", "{\"prompt\": \"The cat\"}",
                "{\"prompt\": \"Lily and Ben\"}", "{\"prompt\": \"One day\"}", "{\"prompt\": \"The sun\"}"));
        GenerateJob.Result one = new GenerateJob(SparkTestSession.get(),
                GenerateConfig.load(null, settings(prompts, dir.resolve("one"), 1))).run();
        GenerateJob.Result two = new GenerateJob(SparkTestSession.get(),
                GenerateConfig.load(null, settings(prompts, dir.resolve("two"), 2))).run();
        assertEquals(5, one.prompts());
        assertEquals(10, one.completions());
        assertTrue(Files.exists(dir.resolve("one/_SUCCESS")));
        List<Row> a = SparkTestSession.get().read().schema(GenerateJob.schema()).json(one.output())
                .orderBy("source", "line", "sample").collectAsList();
        List<Row> b = SparkTestSession.get().read().schema(GenerateJob.schema()).json(two.output())
                .orderBy("source", "line", "sample").collectAsList();
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            // Tokens and text are identical; log-probs agree to float rounding (BLAS blocks a [B, C] GEMM
            // differently for different batch sizes, and partitioning changes which prompts share a batch).
            assertEquals(a.get(i).getString(4), b.get(i).getString(4), "completion " + i);
            assertEquals(a.get(i).getList(5), b.get(i).getList(5), "tokens " + i);
            List<Float> x = a.get(i).getList(6);
            List<Float> y = b.get(i).getList(6);
            for (int k = 0; k < x.size(); k++) {
                assertEquals(x.get(k), y.get(k), 1e-5f, "log-prob " + k + " of completion " + i);
            }
        }
        Row first = a.get(0);
        assertEquals("Once upon a time", first.getString(3));
        assertEquals(first.getList(5).size(), first.getList(6).size(), "one log-prob per token");
        assertTrue(!first.getString(4).isEmpty());
        assertTrue(!a.get(0).getString(4).equals(a.get(1).getString(4)) || !a.get(2).getString(4).equals(a.get(3).getString(4)),
                "two samples of a prompt should usually differ");
    }

    @Test
    void badPromptsAreNamedBeforeDecoding(@TempDir Path dir) throws IOException {
        Path prompts = dir.resolve("prompts.jsonl");
        Files.write(prompts, List.of("{\"prompt\": \"fine\"}", "{\"prompt\": 3}", "not json",
                "{\"prompt\": \"a\"}{\"prompt\": \"glued\"}"));
        DataValidationException error = assertThrows(DataValidationException.class,
                () -> new GenerateJob(SparkTestSession.get(), GenerateConfig.load(null,
                        settings(prompts, dir.resolve("out"), 1))).run());
        assertEquals(3, error.count(), "two glued records are an error, not the first with the second dropped");
        assertEquals("prompt", error.examples().get(0).field());
        assertEquals(2, error.examples().get(0).line());
    }

    @Test
    void stopStringsEndCompletionsBeforeThem(@TempDir Path dir) throws IOException {
        Path prompts = dir.resolve("prompts.jsonl");
        Files.write(prompts, List.of("{\"prompt\": \"Once upon a time\"}", "{\"question\": \"Where did Tim go?\"}"));
        List<String> settings = settings(prompts, dir.resolve("out"), 1);
        settings.add("sampling.stop=[\".\"]");
        settings.add("sampling.temperature=0");
        settings.add("sampling.samples_per_prompt=1");
        GenerateJob.Result result = new GenerateJob(SparkTestSession.get(), GenerateConfig.load(null, settings)).run();
        List<Row> rows = SparkTestSession.get().read().schema(GenerateJob.schema()).json(result.output())
                .orderBy("line").collectAsList();
        assertEquals(2, rows.size());
        assertEquals(", there was a little girl named Lily", rows.get(0).getString(4));
        assertEquals("stop", rows.get(0).getString(7));
        for (Row row : rows) {
            assertTrue(!row.getString(4).contains("."), row.getString(4));
        }
    }
}
