package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;

/**
 * {@code metrics.jsonl} of a run: one JSON object per line (per round, plus events), rewritten
 * atomically after each append so that it is complete on any file system, including object stores
 * without append. Lines from an earlier attempt of the run (before a resume) are kept.
 */
public final class MetricsLog {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HadoopFiles files;
    private final Path path;
    private final List<String> lines = new ArrayList<>();

    public MetricsLog(HadoopFiles files, String runDir) {
        this.files = files;
        this.path = new Path(runDir, "metrics.jsonl");
        if (files.exists(path)) {
            String existing = new String(files.readBytes(path), StandardCharsets.UTF_8);
            for (String line : existing.split("\n")) {
                if (!line.isBlank()) {
                    lines.add(line);
                }
            }
        }
    }

    /**
     * An event record: {@code "event": name}, then the key/value pairs in order. Values may be null (written as
     * JSON null; Map.of refuses them, and String.valueOf wrote the string "null").
     */
    public static Map<String, Object> event(String name, Object... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalStateException("keys and values come in pairs");
        }
        Map<String, Object> record = new java.util.LinkedHashMap<>();
        record.put("event", name);
        for (int i = 0; i < keysAndValues.length; i += 2) {
            record.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return record;
    }

    /** Appends one record and rewrites the file. */
    public void append(Map<String, Object> record) {
        try {
            lines.add(JSON.writeValueAsString(record));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("metrics record is not serializable: " + record, e);
        }
        files.writeBytes(path, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    public String path() {
        return path.toString();
    }
}
