package io.whetstone.jobs.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What one run (or pipeline stage) directory holds, as the report reads it: its per-round records and events from
 * {@code metrics.jsonl}, its resolved config, its stage record, its evaluation results ({@code results.jsonl}) and
 * files of completions with verdicts. Lines a crash cut short are skipped.
 */
record StageData(String name, String dir, List<JsonNode> rounds, List<JsonNode> events, String config,
                 JsonNode stage, List<JsonNode> results, List<Samples> samples, JsonNode summary,
                 List<Figure> figures) {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Samples shown per file. */
    static final int SAMPLES = 6;

    /** An SVG figure a job wrote into its directory (tts's accuracy-versus-tokens plot). */
    record Figure(String file, String svg) {
    }

    /** Figures larger than this are linked, not embedded. */
    static final long MAX_FIGURE_BYTES = 2L << 20;

    /** Completions from one file: the file and a few of its records (right and wrong ones). */
    record Samples(String file, int total, int correct, List<JsonNode> shown) {
    }

    static StageData read(HadoopFiles files, String name, String dir) {
        List<JsonNode> rounds = new ArrayList<>();
        List<JsonNode> events = new ArrayList<>();
        for (JsonNode line : lines(files, new Path(dir, "metrics.jsonl"))) {
            (line.has("event") ? events : rounds).add(line);
        }
        Path configPath = new Path(dir, "config.resolved.yaml");
        String config = files.exists(configPath)
                ? new String(files.readBytes(configPath), StandardCharsets.UTF_8) : null;
        Path stagePath = new Path(dir, "stage.json");
        JsonNode stage = null;
        if (files.exists(stagePath)) {
            List<JsonNode> parsed = parse(new String(files.readBytes(stagePath), StandardCharsets.UTF_8)
                    .replace('\n', ' '));
            stage = parsed.isEmpty() ? null : parsed.get(0);
        }
        List<JsonNode> results = lines(files, new Path(dir, "results.jsonl"));
        Path summaryPath = new Path(dir, "summary.json");
        JsonNode summary = null;
        if (files.exists(summaryPath)) {
            List<JsonNode> parsed = parse(new String(files.readBytes(summaryPath), StandardCharsets.UTF_8)
                    .replace('\n', ' '));
            summary = parsed.isEmpty() ? null : parsed.get(0);
        }
        return new StageData(name, dir, rounds, events, config, stage, results, samples(files, new Path(dir)), summary,
                figures(files, new Path(dir)));
    }

    /** The SVG files directly in {@code dir}, by name. */
    static List<Figure> figures(HadoopFiles files, Path dir) {
        List<Figure> figures = new ArrayList<>();
        try {
            FileSystem fs = files.fs(dir);
            if (!fs.exists(dir)) {
                return figures;
            }
            FileStatus[] statuses = fs.listStatus(dir);
            java.util.Arrays.sort(statuses, java.util.Comparator.comparing(s -> s.getPath().getName()));
            for (FileStatus status : statuses) {
                if (status.isFile() && status.getPath().getName().endsWith(".svg") && status.getLen() <= MAX_FIGURE_BYTES) {
                    figures.add(new Figure(status.getPath().toString(),
                            new String(files.readBytes(status.getPath()), StandardCharsets.UTF_8)));
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot list " + dir, e);
        }
        return figures;
    }

    /** The end event's fields, or an empty object. */
    JsonNode end() {
        for (int i = events.size() - 1; i >= 0; i--) {
            if ("end".equals(events.get(i).path("event").asText())) {
                return events.get(i);
            }
        }
        return JSON.createObjectNode();
    }

    /** Files of completions with verdicts ({@code completion} and {@code correct} fields) directly in {@code dir}. */
    static List<Samples> samples(HadoopFiles files, Path dir) {
        List<Samples> found = new ArrayList<>();
        FileSystem fs = files.fs(dir);
        try {
            if (!fs.exists(dir)) {
                return found;
            }
            FileStatus[] statuses = fs.listStatus(dir);
            java.util.Arrays.sort(statuses, java.util.Comparator.comparing(s -> s.getPath().getName()));
            for (FileStatus status : statuses) {
                String fileName = status.getPath().getName();
                if (!status.isFile() || !fileName.endsWith(".jsonl") || fileName.equals("metrics.jsonl")
                        || fileName.equals("results.jsonl") || status.getLen() > 256L << 20) {
                    continue;
                }
                List<JsonNode> records = lines(files, status.getPath());
                if (records.isEmpty() || !records.get(0).has("completion") || !records.get(0).has("correct")) {
                    continue;
                }
                int correct = (int) records.stream().filter(r -> r.path("correct").asBoolean()).count();
                List<JsonNode> shown = new ArrayList<>();
                records.stream().filter(r -> r.path("correct").asBoolean()).limit(SAMPLES / 2).forEach(shown::add);
                records.stream().filter(r -> !r.path("correct").asBoolean()).limit(SAMPLES - shown.size())
                        .forEach(shown::add);
                found.add(new Samples(status.getPath().toString(), records.size(), correct, shown));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot list " + dir, e);
        }
        return found;
    }

    static List<JsonNode> lines(HadoopFiles files, Path path) {
        if (!files.exists(path)) {
            return List.of();
        }
        return parse(new String(files.readBytes(path), StandardCharsets.UTF_8));
    }

    private static List<JsonNode> parse(String text) {
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode node = JSON.readTree(line);
                if (node != null && node.isObject()) {
                    nodes.add(node);
                }
            } catch (IOException e) {
                // a line cut short by a crash
            }
        }
        return nodes;
    }
}
