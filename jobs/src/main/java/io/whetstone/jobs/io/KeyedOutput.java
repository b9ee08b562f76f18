package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.spark.CorpusPreparer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;

/**
 * The output directory of a job that makes data (a chain-of-thought corpus, preference pairs), keyed by
 * everything it was made from: a finished directory ({@code _SUCCESS}) with the same key is kept as it is on a
 * rerun, one with another key is refused rather than overwritten, and a job finishes by writing
 * {@code stats.json}, {@code manifest.json} (with the key) and {@code _SUCCESS} last.
 */
public final class KeyedOutput {

    private static final ObjectMapper JSON = new ObjectMapper();

    private KeyedOutput() {
    }

    /**
     * The SHA-256 of {@code version}, the input files under {@code dataPath} (path, size, modification time) and
     * {@code parts} (settings as JSON, weights' hashes) in order.
     */
    public static String key(HadoopFiles files, String version, String dataPath, Object... parts) {
        try {
            StringBuilder text = new StringBuilder(version);
            for (String file : CorpusPreparer.inputFiles(files.conf(), dataPath)) {
                text.append('|').append(file);
            }
            for (Object part : parts) {
                text.append('|').append(part instanceof String string ? string : JSON.writeValueAsString(part));
            }
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The statistics of a finished output made with {@code key}; empty when {@code output} is not finished;
     * an error naming both keys when it was finished from other inputs or settings.
     */
    public static Optional<Map<String, Object>> finished(HadoopFiles files, Path output, String key, String what) {
        if (!files.exists(new Path(output, "_SUCCESS"))) {
            return Optional.empty();
        }
        JsonNode manifest = readJson(files, new Path(output, "manifest.json"));
        if (!manifest.path("key").asText().equals(key)) {
            throw new IllegalArgumentException("output.path " + output + " holds " + what + " made from other inputs "
                    + "or settings (key " + manifest.path("key").asText() + ", now " + key
                    + "); choose another output.path or delete it");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> stats = JSON.convertValue(readJson(files, new Path(output, "stats.json")), Map.class);
        return Optional.of(stats);
    }

    /** Writes {@code stats.json}, {@code manifest.json} ({@code key} and {@code fields}), then {@code _SUCCESS}. */
    public static void finish(HadoopFiles files, Path output, String key, Map<String, Object> fields,
                              Map<String, Object> stats) {
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("key", key);
        manifest.putAll(fields);
        try {
            files.writeBytes(new Path(output, "stats.json"), JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(stats));
            files.writeBytes(new Path(output, "manifest.json"), JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(manifest));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        files.writeBytes(new Path(output, "_SUCCESS"), new byte[0]);
    }

    private static JsonNode readJson(HadoopFiles files, Path path) {
        try {
            return JSON.readTree(files.readBytes(path));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }
}
