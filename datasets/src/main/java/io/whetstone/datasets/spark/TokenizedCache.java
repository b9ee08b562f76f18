package io.whetstone.datasets.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A tokenized corpus's cache directory, for every preparer (SFT rows, preference units): named by a key of the
 * settings that change the rows and the input files (path, size, modification time); holding {@code rows/}
 * (Parquet), {@code manifest.json} (settings and statistics) and {@code _SUCCESS}, written last. A directory is
 * built under a temporary name and renamed into place, so a reader never sees a half-written one.
 */
final class TokenizedCache {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizedCache() {
    }

    /** The first 24 hex digits of the SHA-256 of {@code settings} and the input files, joined by {@code |}. */
    static String key(Configuration conf, String dataPath, Object... settings) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < settings.length; i++) {
            text.append(i == 0 ? "" : "|").append(settings[i]);
        }
        try {
            for (String file : CorpusPreparer.inputFiles(conf, dataPath)) {
                text.append('|').append(file);
            }
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.toString().getBytes(StandardCharsets.UTF_8))).substring(0, 24);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list input " + dataPath, e);
        }
    }

    /** The statistics of a complete cache at {@code cache}, or empty. */
    static <S> Optional<S> stats(FileSystem fs, Path cache, Class<S> type) throws IOException {
        Path manifest = new Path(cache, "manifest.json");
        if (!fs.exists(new Path(cache, "_SUCCESS")) || !fs.exists(manifest)) {
            return Optional.empty();
        }
        try (InputStream in = fs.open(manifest)) {
            return Optional.of(JSON.treeToValue(JSON.readTree(in).get("stats"), type));
        }
    }

    /** A temporary directory beside {@code cache} to build it in. */
    static Path temporary(Path cache) {
        return new Path(cache.getParent(), cache.getName() + "._tmp-" + java.util.UUID.randomUUID());
    }

    /**
     * Removes {@code temporary} if it is still there: a build that failed (no valid examples, a failed write) must
     * not leave a half-written cache behind. After {@link #publish} it has been renamed and this does nothing.
     */
    static void discard(FileSystem fs, Path temporary) {
        try {
            if (fs.exists(temporary)) {
                fs.delete(temporary, true);
            }
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(TokenizedCache.class).warn("cannot remove {}: {}", temporary,
                    e.getMessage());
        }
    }

    /**
     * Writes {@code manifest.json} ({@code fields}, then the statistics) into {@code temporary}, replaces
     * {@code cache} with it and marks it {@code _SUCCESS}.
     */
    static void publish(FileSystem fs, Path temporary, Path cache, Map<String, Object> fields, Object stats)
            throws IOException {
        ObjectNode manifest = JSON.createObjectNode();
        fields.forEach((name, value) -> manifest.set(name, JSON.valueToTree(value)));
        manifest.set("stats", JSON.valueToTree(stats));
        try (OutputStream out = fs.create(new Path(temporary, "manifest.json"), true)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
        }
        fs.delete(cache, true);
        if (!fs.rename(temporary, cache)) {
            throw new IOException("cannot rename " + temporary + " to " + cache);
        }
        fs.create(new Path(cache, "_SUCCESS"), true).close();
    }
}
