package io.whetstone.jobs.pipeline;

import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * Fingerprints of a stage's inputs. A file or directory on any Hadoop path is fingerprinted by its listing (each
 * file's relative name, length and modification time), not its bytes: a nightly corpus of many gigabytes is
 * listed in moments, and a rewritten file gets a new modification time on every file system Whetstone runs on.
 */
public final class Fingerprints {

    /** Files listed at most per input; a bigger tree is fingerprinted by its first ones and its count. */
    static final int MAX_FILES = 100_000;

    private Fingerprints() {
    }

    /** SHA-256 of {@code text}, in hex. */
    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The fingerprint of {@code path}'s listing, or {@code "missing"} when there is nothing there. */
    public static String of(HadoopFiles files, String path) {
        Path root = new Path(path);
        FileSystem fs = files.fs(root);
        try {
            if (!fs.exists(root)) {
                FileStatus[] matches = fs.globStatus(root);
                if (matches == null || matches.length == 0) {
                    return "missing";
                }
                StringBuilder glob = new StringBuilder("glob\n"); // data.path may be a glob: each match's listing
                java.util.Arrays.sort(matches);
                for (FileStatus match : matches) {
                    glob.append(match.getPath()).append(' ').append(of(files, match.getPath().toString())).append('\n');
                }
                return sha256(glob.toString());
            }
            FileStatus status = fs.getFileStatus(root);
            StringBuilder listing = new StringBuilder();
            if (status.isFile()) {
                listing.append(status.getLen()).append(' ').append(status.getModificationTime());
            } else {
                String prefix = fs.makeQualified(root).toString();
                RemoteIterator<LocatedFileStatus> entries = fs.listFiles(root, true);
                int count = 0;
                while (entries.hasNext()) {
                    LocatedFileStatus entry = entries.next();
                    if (++count <= MAX_FILES) {
                        listing.append(entry.getPath().toString().substring(Math.min(prefix.length(),
                                        entry.getPath().toString().length()))).append(' ').append(entry.getLen())
                                .append(' ').append(entry.getModificationTime()).append('\n');
                    }
                }
                listing.append("files ").append(count);
            }
            return sha256(listing.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path, e);
        }
    }
}
