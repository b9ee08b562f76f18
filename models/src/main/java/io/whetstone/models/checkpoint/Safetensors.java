package io.whetstone.models.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format, written by hand because no Java library for it is on Maven Central: an
 * 8-byte little-endian header length, a JSON header mapping each name to dtype, shape and
 * [begin, end) byte offsets into the data that follows, then the raw little-endian data. Reading
 * streams the tensors in offset order, so it works on any InputStream (local or Hadoop) without
 * random access, and checks every length and offset against the file size first: a truncated or
 * hostile file gets a {@link CheckpointFormatException}, never an out-of-memory error.
 * Reads F32, F16 and BF16 (as float32); writes F32 or BF16.
 */
public final class Safetensors {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Headers above this are refused (the reference implementation uses 100 MB too). */
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {
    }

    /** The element types this writer stores. */
    public enum StorageType {
        F32(4, "float32"),
        /** bfloat16, rounded to nearest even: half the bytes, the range of F32, 8 bits of mantissa. */
        BF16(2, "bfloat16");

        private final int bytes;
        private final String torchName;

        StorageType(int bytes, String torchName) {
            this.bytes = bytes;
            this.torchName = torchName;
        }

        /** The name config.json's {@code torch_dtype} uses. */
        public String torchName() {
            return torchName;
        }

        /** float32 or bfloat16 (also F32, BF16), any case. */
        public static StorageType parse(String name) {
            for (StorageType type : values()) {
                if (type.name().equalsIgnoreCase(name) || type.torchName.equalsIgnoreCase(name)) {
                    return type;
                }
            }
            throw new IllegalArgumentException("unknown dtype '" + name + "' (float32 or bfloat16)");
        }
    }

    /** Writes {@code tensors} in map order as F32, with optional string metadata. Does not close {@code out}. */
    public static void write(OutputStream out, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        write(out, tensors, metadata, StorageType.F32);
    }

    /** Writes {@code tensors} in map order as {@code type}, with optional string metadata. Does not close {@code out}. */
    public static void write(OutputStream out, Map<String, Tensor> tensors, Map<String, String> metadata,
                             StorageType type) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
            ObjectNode info = header.putObject(entry.getKey());
            info.put("dtype", type.name());
            var shape = info.putArray("shape");
            for (long dimension : entry.getValue().shape()) {
                shape.add(dimension);
            }
            long size = (long) type.bytes * entry.getValue().values().length;
            info.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        int padded = (headerBytes.length + 7) / 8 * 8; // data starts 8-byte aligned; pad with spaces
        BufferedOutputStream buffered = new BufferedOutputStream(out, 1 << 20);
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        buffered.write(length.array());
        buffered.write(headerBytes);
        for (int i = headerBytes.length; i < padded; i++) {
            buffered.write(' ');
        }
        ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor tensor : tensors.values()) {
            for (float value : tensor.values()) {
                if (!chunk.hasRemaining()) {
                    buffered.write(chunk.array(), 0, chunk.position());
                    chunk.clear();
                }
                if (type == StorageType.F32) {
                    chunk.putFloat(value);
                } else {
                    chunk.putShort(floatToBfloat16(value));
                }
            }
        }
        buffered.write(chunk.array(), 0, chunk.position());
        buffered.flush();
    }

    /** A parsed header entry. */
    private record Entry(String name, String dtype, long[] shape, long begin, long end) {
    }

    /**
     * Reads every tensor of a file of {@code fileSize} bytes from {@code in}. {@code name} labels
     * errors. Does not close {@code in}.
     */
    public static Map<String, Tensor> read(InputStream in, long fileSize, String name) throws IOException {
        Result result = readWithMetadata(in, fileSize, name);
        return result.tensors();
    }

    /** Tensors and the {@code __metadata__} strings of a file. */
    public record Result(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    public static Result readWithMetadata(InputStream in, long fileSize, String name) throws IOException {
        DataInputStream data = new DataInputStream(new BufferedInputStream(in, 1 << 20));
        if (fileSize < 8) {
            throw new CheckpointFormatException(name + ": " + fileSize + " bytes is too short for a safetensors file");
        }
        byte[] lengthBytes = new byte[8];
        readFully(data, lengthBytes, name, "header length");
        long headerLength = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength <= 0 || headerLength > MAX_HEADER || headerLength > fileSize - 8) {
            throw new CheckpointFormatException(name + ": header length " + headerLength
                    + " is impossible for a file of " + fileSize + " bytes");
        }
        byte[] headerBytes = new byte[(int) headerLength];
        readFully(data, headerBytes, name, "header");
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new CheckpointFormatException(name + ": header is not valid JSON: " + e.getMessage(), e);
        }
        if (header == null || !header.isObject()) {
            throw new CheckpointFormatException(name + ": header is not a JSON object");
        }
        long dataSize = fileSize - 8 - headerLength;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> fields = header.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (field.getKey().equals("__metadata__")) {
                field.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            entries.add(entry(name, field.getKey(), field.getValue(), dataSize));
        }
        entries.sort(Comparator.comparingLong(Entry::begin));
        long previousEnd = 0;
        for (Entry entry : entries) {
            if (entry.begin() < previousEnd) {
                throw new CheckpointFormatException(name + ": tensor " + entry.name() + " overlaps the one before it");
            }
            previousEnd = entry.end();
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        long position = 0;
        for (Entry entry : entries) {
            skipFully(data, entry.begin() - position, name);
            tensors.put(entry.name(), new Tensor(entry.shape(), decode(data, entry, name)));
            position = entry.end();
        }
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        header.fieldNames().forEachRemaining(key -> {
            if (tensors.containsKey(key)) {
                ordered.put(key, tensors.get(key));
            }
        });
        return new Result(ordered, metadata);
    }

    private static Entry entry(String file, String tensor, JsonNode info, long dataSize) {
        String dtype = info.path("dtype").asText("");
        int width = switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new CheckpointFormatException(file + ": tensor " + tensor + " has dtype '" + dtype
                    + "' (supported: F32, F16, BF16)");
        };
        JsonNode shapeNode = info.path("shape");
        JsonNode offsets = info.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new CheckpointFormatException(file + ": tensor " + tensor + " lacks a shape or data_offsets");
        }
        long[] shape = new long[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong(-1);
            if (shape[i] < 0 || (shape[i] > 0 && count > Integer.MAX_VALUE / shape[i])) {
                throw new CheckpointFormatException(file + ": tensor " + tensor + " has a bad or too large shape "
                        + shapeNode);
            }
            count *= shape[i];
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataSize) {
            throw new CheckpointFormatException(file + ": tensor " + tensor + " has offsets [" + begin + ", " + end
                    + ") outside the " + dataSize + " data bytes (truncated file?)");
        }
        if (end - begin != count * width) {
            throw new CheckpointFormatException(file + ": tensor " + tensor + " of shape " + shapeNode + " and dtype "
                    + dtype + " needs " + count * width + " bytes, its offsets span " + (end - begin));
        }
        return new Entry(tensor, dtype, shape, begin, end);
    }

    private static float[] decode(DataInputStream data, Entry entry, String file) throws IOException {
        int width = entry.dtype().equals("F32") ? 4 : 2;
        int count = (int) ((entry.end() - entry.begin()) / width);
        float[] values = new float[count];
        byte[] buffer = new byte[1 << 16];
        ByteBuffer view = ByteBuffer.wrap(buffer).order(ByteOrder.LITTLE_ENDIAN);
        int done = 0;
        while (done < count) {
            int n = Math.min(count - done, buffer.length / width);
            readFully(data, buffer, 0, n * width, file, "tensor " + entry.name());
            view.clear();
            for (int i = 0; i < n; i++) {
                values[done + i] = switch (entry.dtype()) {
                    case "F32" -> view.getFloat();
                    case "F16" -> halfToFloat(view.getShort());
                    default -> Float.intBitsToFloat((view.getShort() & 0xFFFF) << 16);
                };
            }
            done += n;
        }
        return values;
    }

    /** float to bfloat16, rounded to nearest even (NaN stays a quiet NaN). */
    static short floatToBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** IEEE 754 half precision to float (Float.float16ToFloat arrives only in Java 20). */
    static float halfToFloat(short half) {
        int bits = half & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float value = mantissa * 0x1p-24f; // subnormal (or zero)
            return sign == 0 ? value : -value;
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }

    private static void readFully(DataInputStream in, byte[] target, String file, String what) throws IOException {
        readFully(in, target, 0, target.length, file, what);
    }

    private static void readFully(DataInputStream in, byte[] target, int offset, int length, String file, String what)
            throws IOException {
        try {
            in.readFully(target, offset, length);
        } catch (EOFException e) {
            throw new CheckpointFormatException(file + ": file ends inside the " + what + " (truncated?)", e);
        }
    }

    private static void skipFully(DataInputStream in, long bytes, String file) throws IOException {
        long left = bytes;
        while (left > 0) {
            long skipped = in.skip(left);
            if (skipped <= 0) {
                if (in.read() < 0) {
                    throw new CheckpointFormatException(file + ": file ends before the data it declares (truncated?)");
                }
                skipped = 1;
            }
            left -= skipped;
        }
    }
}
