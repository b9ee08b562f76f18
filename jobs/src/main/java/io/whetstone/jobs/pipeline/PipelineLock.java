package io.whetstone.jobs.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code pipeline.lock} in the pipeline directory: created without overwriting (atomic on HDFS and local disks), it
 * holds the host, process id and start time of the run that owns the directory. A second run is refused naming
 * the first; a lock left by a run on this host whose process is gone (killed, machine rebooted) is stale and taken
 * over with a warning. A lock from another host cannot be checked from here: the message says how to clear it.
 */
public final class PipelineLock implements AutoCloseable {

    /** The lock file's name. */
    public static final String FILE = "pipeline.lock";

    private static final Logger LOG = LoggerFactory.getLogger(PipelineLock.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HadoopFiles files;
    private final Path path;

    private PipelineLock(HadoopFiles files, Path path) {
        this.files = files;
        this.path = path;
    }

    /** Another run holds the lock. */
    public static final class HeldException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HeldException(String message) {
            super(message);
        }
    }

    /** Takes the lock of {@code dir} or throws {@link HeldException}. */
    public static PipelineLock acquire(HadoopFiles files, String dir) {
        Path path = new Path(dir, FILE);
        FileSystem fs = files.fs(path);
        ObjectNode mine = JSON.createObjectNode().put("host", host()).put("pid", ProcessHandle.current().pid())
                .put("started", Instant.now().toString());
        for (int attempt = 0; attempt < 2; attempt++) {
            try (OutputStream out = fs.create(path, false)) {
                out.write(JSON.writeValueAsBytes(mine));
                return new PipelineLock(files, path);
            } catch (FileAlreadyExistsException e) {
                JsonNode holder = read(files, path);
                if (!stale(holder)) {
                    throw new HeldException("another pipeline run holds " + path + " (process "
                            + holder.path("pid").asText("?") + " on " + holder.path("host").asText("?") + ", since "
                            + holder.path("started").asText("?") + "); wait for it to end, or delete the lock if that "
                            + "run is dead");
                }
                LOG.warn("Taking over the stale lock {} of process {} on {} (started {}), which is no longer running",
                        path, holder.path("pid").asText("?"), holder.path("host").asText("?"),
                        holder.path("started").asText("?"));
                try {
                    fs.delete(path, false);
                } catch (IOException deleteFailed) {
                    throw new UncheckedIOException("cannot remove the stale lock " + path, deleteFailed);
                }
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().contains("already exists") && attempt == 0) {
                    continue; // some file systems say so in a plain IOException; the next attempt reads the holder
                }
                throw new UncheckedIOException("cannot create the lock " + path, e);
            }
        }
        throw new HeldException("another pipeline run took " + path + " at the same moment");
    }

    /** Whether the run that wrote {@code holder} is gone: same host, no such process. */
    static boolean stale(JsonNode holder) {
        if (holder == null) {
            return true; // unreadable or empty: a run killed while writing it
        }
        return holder.path("host").asText().equals(host())
                && ProcessHandle.of(holder.path("pid").asLong(-1)).map(p -> !p.isAlive()).orElse(true);
    }

    private static JsonNode read(HadoopFiles files, Path path) {
        try {
            JsonNode node = JSON.readTree(files.readBytes(path));
            return node != null && node.isObject() ? node : null;
        } catch (IOException | UncheckedIOException e) {
            return null;
        }
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown";
        }
    }

    @Override
    public void close() {
        try {
            files.fs(path).delete(path, false);
        } catch (IOException e) {
            LOG.warn("cannot remove the lock {}: {}", path, e.getMessage());
        }
    }
}
