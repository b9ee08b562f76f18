package io.whetstone.models.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Bytes read at absolute positions: a local file, or (in the jobs module) a Hadoop stream with seek. */
public interface RandomAccessSource extends AutoCloseable {

    /** Total size in bytes. */
    long size();

    /** Fills {@code target} from {@code position}; fails if the source ends first. */
    void readFully(long position, byte[] target, int offset, int length) throws IOException;

    @Override
    void close() throws IOException;

    /** A local file. */
    static RandomAccessSource of(Path path) {
        try {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
            long size = channel.size();
            return new RandomAccessSource() {
                @Override
                public long size() {
                    return size;
                }

                @Override
                public void readFully(long position, byte[] target, int offset, int length) throws IOException {
                    ByteBuffer buffer = ByteBuffer.wrap(target, offset, length);
                    long at = position;
                    while (buffer.hasRemaining()) {
                        int read = channel.read(buffer, at);
                        if (read < 0) {
                            throw new CheckpointFormatException(path + ": file ends at " + at + ", expected "
                                    + (position + length) + " bytes (truncated?)");
                        }
                        at += read;
                    }
                }

                @Override
                public void close() throws IOException {
                    channel.close();
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + path, e);
        }
    }
}
