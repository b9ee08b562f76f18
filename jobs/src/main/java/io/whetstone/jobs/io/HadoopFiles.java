package io.whetstone.jobs.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Small file operations on any Hadoop path, with atomic whole-file writes (temporary file, then rename). */
public final class HadoopFiles {

    private final Configuration conf;

    public HadoopFiles(Configuration conf) {
        this.conf = conf;
    }

    public Configuration conf() {
        return conf;
    }

    public FileSystem fs(Path path) {
        try {
            FileSystem fs = path.getFileSystem(conf);
            fs.setWriteChecksum(false); // no .crc side files next to local outputs
            return fs;
        } catch (IOException e) {
            throw new UncheckedIOException("no file system for " + path, e);
        }
    }

    /** A writer of one stream. */
    @FunctionalInterface
    public interface StreamWriter {
        void write(OutputStream out) throws IOException;
    }

    /** Writes {@code path} through a temporary file in the same directory and a rename. */
    public void writeAtomically(Path path, StreamWriter writer) {
        FileSystem fs = fs(path);
        Path temporary = new Path(path.getParent(), "." + path.getName() + "._tmp-" + UUID.randomUUID());
        try {
            try (OutputStream out = fs.create(temporary, true)) {
                writer.write(out);
            }
            if (fs.exists(path) && !fs.delete(path, false)) {
                throw new IOException("cannot replace " + path);
            }
            if (!fs.rename(temporary, path)) {
                throw new IOException("cannot rename " + temporary + " to " + path);
            }
        } catch (IOException e) {
            try {
                fs.delete(temporary, false);
            } catch (IOException ignored) {
                // the original failure is what matters
            }
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }

    public void writeBytes(Path path, byte[] bytes) {
        writeAtomically(path, out -> out.write(bytes));
    }

    public byte[] readBytes(Path path) {
        try (InputStream in = fs(path).open(path)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    public boolean exists(Path path) {
        try {
            return fs(path).exists(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + path, e);
        }
    }

    public void mkdirs(Path path) {
        try {
            fs(path).mkdirs(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + path, e);
        }
    }

    /** The fully qualified form of {@code path} (scheme and authority filled in). */
    public String qualify(String path) {
        Path p = new Path(path);
        return fs(p).makeQualified(p).toString();
    }

    /**
     * Publishes a directory written in full at {@code temporary} as {@code target}: any older {@code target}
     * goes, the temporary is renamed, and {@code _SUCCESS} is written last, so a reader that sees the marker
     * sees a complete directory.
     */
    public void publishDirectory(Path temporary, Path target) {
        FileSystem fs = fs(target);
        try {
            if (fs.exists(target)) {
                fs.delete(target, true);
            }
            if (!fs.rename(temporary, target)) {
                throw new IOException("cannot rename " + temporary + " to " + target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot publish " + target, e);
        }
        writeBytes(new Path(target, "_SUCCESS"), new byte[0]);
    }
}
