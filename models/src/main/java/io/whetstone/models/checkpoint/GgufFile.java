package io.whetstone.models.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (llama.cpp's container), read by hand because no Java library for it is on Maven Central:
 * magic {@code GGUF}, version (2 or 3), tensor count, metadata count, the metadata key/values, the
 * tensor infos (name, dimensions fastest-varying first, type, offset), then tensor data aligned to
 * {@code general.alignment} (default 32). Every count, length and offset is checked against the file
 * size before it is used, so a truncated or hostile file gets a {@link CheckpointFormatException}
 * naming the field, never an out-of-memory error or a JVM crash. Tensor types F32, F16, BF16 and Q8_0
 * (dequantised) are read as float32.
 */
public final class GgufFile {

    /** A tensor's entry in the header. */
    public record TensorInfo(String name, long[] dims, int type, long offset, long bytes) {

        /** Row-major shape: GGUF lists dimensions fastest-varying first, so they are reversed. */
        public long[] shape() {
            long[] shape = new long[dims.length];
            for (int i = 0; i < dims.length; i++) {
                shape[i] = dims[dims.length - 1 - i];
            }
            return shape;
        }

        public long elements() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    private static final int TYPE_F32 = 0;
    private static final int TYPE_F16 = 1;
    private static final int TYPE_Q8_0 = 8;
    private static final int TYPE_BF16 = 30;
    private static final int Q8_BLOCK = 32;
    private static final int Q8_BLOCK_BYTES = 34;
    /** Longest string or array the reader accepts (the largest vocabularies have ~256k entries). */
    private static final long MAX_ITEMS = 1L << 24;

    private final String name;
    private final RandomAccessSource source;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, TensorInfo> tensors;
    private final long dataStart;

    private GgufFile(String name, RandomAccessSource source, int version, Map<String, Object> metadata,
                     Map<String, TensorInfo> tensors, long dataStart) {
        this.name = name;
        this.source = source;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
    }

    /** Parses the header of {@code source} (named {@code name} in errors) and checks every tensor's extent. */
    public static GgufFile read(RandomAccessSource source, String name) throws IOException {
        Cursor cursor = new Cursor(source, name);
        byte[] magic = cursor.bytes(4, "magic");
        if (!Arrays.equals(magic, "GGUF".getBytes(StandardCharsets.US_ASCII))) {
            throw new CheckpointFormatException(name + ": not a GGUF file (magic " + Arrays.toString(magic) + ")");
        }
        int version = cursor.u32("version");
        if (version != 2 && version != 3) {
            throw new CheckpointFormatException(name + ": GGUF version " + version + " is not supported (2, 3)");
        }
        long tensorCount = cursor.count("tensor count");
        long metadataCount = cursor.count("metadata count");
        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < metadataCount; i++) {
            String key = cursor.string("metadata key " + i);
            int type = cursor.u32("type of " + key);
            metadata.put(key, cursor.value(type, key));
        }
        long alignment = 32;
        Object declared = metadata.get("general.alignment");
        if (declared instanceof Number number) {
            alignment = number.longValue();
            if (alignment <= 0 || alignment > (1 << 20) || Long.bitCount(alignment) != 1) {
                throw new CheckpointFormatException(name + ": general.alignment " + alignment + " is not a power of two");
            }
        }
        List<TensorInfo> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String tensor = cursor.string("tensor name " + i);
            int dimensions = cursor.u32("dimension count of " + tensor);
            if (dimensions < 1 || dimensions > 4) {
                throw new CheckpointFormatException(name + ": tensor " + tensor + " has " + dimensions + " dimensions");
            }
            long[] dims = new long[dimensions];
            long elements = 1;
            for (int d = 0; d < dimensions; d++) {
                dims[d] = cursor.u64("dimension " + d + " of " + tensor);
                if (dims[d] <= 0 || dims[d] > Integer.MAX_VALUE || elements > Integer.MAX_VALUE / dims[d]) {
                    throw new CheckpointFormatException(name + ": tensor " + tensor + " has an impossible shape "
                            + Arrays.toString(dims));
                }
                elements *= dims[d];
            }
            int type = cursor.u32("type of " + tensor);
            long offset = cursor.u64("offset of " + tensor);
            infos.add(new TensorInfo(tensor, dims, type, offset, byteSize(name, tensor, type, elements)));
        }
        long dataStart = (cursor.position + alignment - 1) / alignment * alignment;
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo info : infos) {
            if (info.offset() < 0 || info.offset() % alignment != 0
                    || dataStart + info.offset() + info.bytes() > source.size()) {
                throw new CheckpointFormatException(name + ": tensor " + info.name() + " at offset " + info.offset()
                        + " (" + info.bytes() + " bytes) lies outside the file of " + source.size()
                        + " bytes (truncated?)");
            }
            if (byName.put(info.name(), info) != null) {
                throw new CheckpointFormatException(name + ": tensor " + info.name() + " appears twice");
            }
        }
        return new GgufFile(name, source, version, Collections.unmodifiableMap(metadata),
                Collections.unmodifiableMap(byName), dataStart);
    }

    private static long byteSize(String file, String tensor, int type, long elements) {
        return switch (type) {
            case TYPE_F32 -> 4 * elements;
            case TYPE_F16, TYPE_BF16 -> 2 * elements;
            case TYPE_Q8_0 -> {
                if (elements % Q8_BLOCK != 0) {
                    throw new CheckpointFormatException(file + ": Q8_0 tensor " + tensor + " has " + elements
                            + " elements, not a multiple of " + Q8_BLOCK);
                }
                yield elements / Q8_BLOCK * Q8_BLOCK_BYTES;
            }
            default -> throw new CheckpointFormatException(file + ": tensor " + tensor + " has ggml type " + type
                    + " (supported: F32, F16, BF16, Q8_0)");
        };
    }

    public int version() {
        return version;
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** A metadata value that must exist with the given type. */
    public <T> T require(String key, Class<T> type) {
        Object value = metadata.get(key);
        if (value == null) {
            throw new CheckpointFormatException(name + ": missing metadata " + key);
        }
        if (!type.isInstance(value)) {
            throw new CheckpointFormatException(name + ": metadata " + key + " is a " + value.getClass().getSimpleName()
                    + ", expected " + type.getSimpleName());
        }
        return type.cast(value);
    }

    /** An integer metadata value (any integer type). */
    public long requireInteger(String key) {
        return require(key, Number.class).longValue();
    }

    /** The values of tensor {@code tensor} as float32, row-major in {@link TensorInfo#shape()}. */
    public float[] floats(String tensor) throws IOException {
        TensorInfo info = tensors.get(tensor);
        if (info == null) {
            throw new CheckpointFormatException(name + ": missing tensor " + tensor);
        }
        int n = (int) info.elements();
        float[] values = new float[n];
        long position = dataStart + info.offset();
        int chunkBytes = 1 << 20;
        byte[] buffer = new byte[(int) Math.min(chunkBytes, info.bytes())];
        switch (info.type()) {
            case TYPE_F32, TYPE_F16, TYPE_BF16 -> {
                int width = info.type() == TYPE_F32 ? 4 : 2;
                int perChunk = buffer.length / width;
                for (int done = 0; done < n; done += perChunk) {
                    int count = Math.min(perChunk, n - done);
                    source.readFully(position + (long) done * width, buffer, 0, count * width);
                    ByteBuffer view = ByteBuffer.wrap(buffer, 0, count * width).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < count; i++) {
                        values[done + i] = switch (info.type()) {
                            case TYPE_F32 -> view.getFloat();
                            case TYPE_F16 -> Safetensors.halfToFloat(view.getShort());
                            default -> Float.intBitsToFloat((view.getShort() & 0xFFFF) << 16);
                        };
                    }
                }
            }
            case TYPE_Q8_0 -> {
                int blocks = n / Q8_BLOCK;
                int perChunk = buffer.length / Q8_BLOCK_BYTES;
                for (int done = 0; done < blocks; done += perChunk) {
                    int count = Math.min(perChunk, blocks - done);
                    source.readFully(position + (long) done * Q8_BLOCK_BYTES, buffer, 0, count * Q8_BLOCK_BYTES);
                    ByteBuffer view = ByteBuffer.wrap(buffer, 0, count * Q8_BLOCK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                    for (int b = 0; b < count; b++) {
                        float scale = Safetensors.halfToFloat(view.getShort());
                        int base = (done + b) * Q8_BLOCK;
                        for (int i = 0; i < Q8_BLOCK; i++) {
                            values[base + i] = scale * view.get();
                        }
                    }
                }
            }
            default -> throw new IllegalStateException("unreachable: type " + info.type());
        }
        return values;
    }

    /** Reads the header fields in order, checking each against the file size. */
    private static final class Cursor {
        private final RandomAccessSource source;
        private final String name;
        private long position;

        Cursor(RandomAccessSource source, String name) {
            this.source = source;
            this.name = name;
        }

        byte[] bytes(int length, String what) throws IOException {
            if (position + length > source.size()) {
                throw new CheckpointFormatException(name + ": file ends inside " + what + " at byte " + position
                        + " (truncated?)");
            }
            byte[] bytes = new byte[length];
            source.readFully(position, bytes, 0, length);
            position += length;
            return bytes;
        }

        ByteBuffer buffer(int length, String what) throws IOException {
            return ByteBuffer.wrap(bytes(length, what)).order(ByteOrder.LITTLE_ENDIAN);
        }

        int u32(String what) throws IOException {
            return buffer(4, what).getInt();
        }

        long u64(String what) throws IOException {
            return buffer(8, what).getLong();
        }

        long count(String what) throws IOException {
            long count = u64(what);
            if (count < 0 || count > MAX_ITEMS) {
                throw new CheckpointFormatException(name + ": " + what + " " + count + " is impossible");
            }
            return count;
        }

        String string(String what) throws IOException {
            long length = u64("length of " + what);
            if (length < 0 || length > MAX_ITEMS || position + length > source.size()) {
                throw new CheckpointFormatException(name + ": " + what + " claims " + length
                        + " bytes, beyond the file (truncated or corrupt)");
            }
            return new String(bytes((int) length, what), StandardCharsets.UTF_8);
        }

        Object value(int type, String key) throws IOException {
            return switch (type) {
                case 0 -> (long) (buffer(1, key).get() & 0xFF);
                case 1 -> (long) buffer(1, key).get();
                case 2 -> (long) (buffer(2, key).getShort() & 0xFFFF);
                case 3 -> (long) buffer(2, key).getShort();
                case 4 -> buffer(4, key).getInt() & 0xFFFFFFFFL;
                case 5 -> (long) buffer(4, key).getInt();
                case 6 -> (double) buffer(4, key).getFloat();
                case 7 -> buffer(1, key).get() != 0;
                case 8 -> string(key);
                case 9 -> array(key);
                case 10 -> buffer(8, key).getLong();
                case 11 -> buffer(8, key).getLong();
                case 12 -> buffer(8, key).getDouble();
                default -> throw new CheckpointFormatException(name + ": metadata " + key + " has unknown type " + type);
            };
        }

        List<Object> array(String key) throws IOException {
            int type = u32("element type of " + key);
            long count = count("length of " + key);
            if (type == 9) {
                throw new CheckpointFormatException(name + ": metadata " + key + " nests arrays");
            }
            List<Object> values = new ArrayList<>((int) Math.min(count, 1 << 16));
            for (long i = 0; i < count; i++) {
                values.add(value(type, key + "[" + i + "]"));
            }
            return values;
        }
    }
}
