package io.whetstone.models.engine;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Float and double vectors written to and read from a serialisation stream in bulk: chunks of raw little-endian
 * bytes copied through a {@link ByteBuffer} view, where Java serialisation converts every value on its own
 * ({@code ObjectOutputStream.writeFloats}). What the driver broadcasts and the partitions send back each round is
 * almost all such vectors (README "Scaling" has the before and after). Written by hand because Spark's serialisers
 * (Java, Kryo) have no bulk path for primitive arrays inside a user's object.
 */
public final class BulkArrays {

    /** Values per chunk: bounds the extra memory while writing to 256 KB (floats) or 512 KB (doubles). */
    private static final int CHUNK = 1 << 16;

    private BulkArrays() {
    }

    /** Writes {@code values} (may be null) as its length (-1 for null) and its raw bytes. */
    public static void writeFloats(DataOutput out, float[] values) throws IOException {
        if (values == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(values.length);
        ByteBuffer buffer = ByteBuffer.allocate(4 * Math.min(values.length, CHUNK)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < values.length; from += CHUNK) {
            int n = Math.min(CHUNK, values.length - from);
            buffer.clear();
            buffer.asFloatBuffer().put(values, from, n);
            out.write(buffer.array(), 0, 4 * n);
        }
    }

    /** Reads what {@link #writeFloats} wrote. */
    public static float[] readFloats(DataInput in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        float[] values = new float[length];
        ByteBuffer buffer = ByteBuffer.allocate(4 * Math.min(length, CHUNK)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < length; from += CHUNK) {
            int n = Math.min(CHUNK, length - from);
            buffer.clear();
            in.readFully(buffer.array(), 0, 4 * n);
            buffer.asFloatBuffer().get(values, from, n);
        }
        return values;
    }

    /** Writes {@code values} (may be null) as its length (-1 for null) and its raw bytes. */
    public static void writeDoubles(DataOutput out, double[] values) throws IOException {
        if (values == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(values.length);
        ByteBuffer buffer = ByteBuffer.allocate(8 * Math.min(values.length, CHUNK)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < values.length; from += CHUNK) {
            int n = Math.min(CHUNK, values.length - from);
            buffer.clear();
            buffer.asDoubleBuffer().put(values, from, n);
            out.write(buffer.array(), 0, 8 * n);
        }
    }

    /** Reads what {@link #writeDoubles} wrote. */
    public static double[] readDoubles(DataInput in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        double[] values = new double[length];
        ByteBuffer buffer = ByteBuffer.allocate(8 * Math.min(length, CHUNK)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < length; from += CHUNK) {
            int n = Math.min(CHUNK, length - from);
            buffer.clear();
            in.readFully(buffer.array(), 0, 8 * n);
            buffer.asDoubleBuffer().get(values, from, n);
        }
        return values;
    }

    /** Writes {@code values} (may be null) as its length (-1 for null) and its raw bytes. */
    public static void writeShorts(DataOutput out, short[] values) throws IOException {
        if (values == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(values.length);
        ByteBuffer buffer = ByteBuffer.allocate(2 * Math.min(values.length, CHUNK)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < values.length; from += CHUNK) {
            int n = Math.min(CHUNK, values.length - from);
            buffer.clear();
            buffer.asShortBuffer().put(values, from, n);
            out.write(buffer.array(), 0, 2 * n);
        }
    }

    /** Reads what {@link #writeShorts} wrote. */
    public static short[] readShorts(DataInput in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        short[] values = new short[length];
        ByteBuffer buffer = ByteBuffer.allocate(2 * Math.min(length, CHUNK)).order(ByteOrder.LITTLE_ENDIAN);
        for (int from = 0; from < length; from += CHUNK) {
            int n = Math.min(CHUNK, length - from);
            buffer.clear();
            in.readFully(buffer.array(), 0, 2 * n);
            buffer.asShortBuffer().get(values, from, n);
        }
        return values;
    }

    /** Writes a matrix of vectors (each may be null; the outer array may not). */
    public static void writeFloatRows(DataOutput out, float[][] rows) throws IOException {
        out.writeInt(rows.length);
        for (float[] row : rows) {
            writeFloats(out, row);
        }
    }

    /** Reads what {@link #writeFloatRows} wrote. */
    public static float[][] readFloatRows(DataInput in) throws IOException {
        float[][] rows = new float[in.readInt()][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = readFloats(in);
        }
        return rows;
    }
}
