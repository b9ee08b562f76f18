package io.whetstone.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small corpora for job tests. */
public final class TestData {

    private TestData() {
    }

    /** {@code count} arithmetic problems as prompt_completion JSONL lines. */
    public static List<String> promptCompletionLines(int count, long seed) {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (TaskExample example : new ArithmeticTask(1, 2, false, seed).generate(ArithmeticTask.Split.TRAIN, count)) {
            ObjectNode node = json.createObjectNode();
            node.put("prompt", example.question() + " ");
            node.put("completion", "#### " + example.answer());
            lines.add(node.toString());
        }
        return lines;
    }

    public static Path write(Path dir, String name, List<String> lines) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(name);
        Files.write(file, lines);
        return file;
    }

    /** Overrides for a tiny, fast SFT run on {@code data} writing to {@code runDir}. */
    public static List<String> tinySft(Path data, Path runDir) {
        return new ArrayList<>(List.of("run.dir=" + runDir.toUri(), "data.path=" + data.toUri(), "data.seq_len=48",
                "model.family=gpt2", "model.width=32", "model.layers=1", "model.heads=2", "model.ffn_hidden=64",
                "train.rounds=4", "train.averaging_frequency=2", "train.batch_size_per_worker=4",
                "train.warmup_steps=2", "train.lr=0.003", "spark.partitions=2", "spark.threads_per_task=1",
                "checkpoint.every_rounds=2", "checkpoint.keep_last=5"));
    }
}
