package io.whetstone.models.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SafetensorsTest {

    private static byte[] write(Map<String, Tensor> tensors) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Safetensors.write(out, tensors, Map.of("format", "pt"));
        return out.toByteArray();
    }

    private static Map<String, Tensor> read(byte[] bytes) throws IOException {
        return Safetensors.read(new ByteArrayInputStream(bytes), bytes.length, "test.safetensors");
    }

    @Test
    void roundTripsExactly() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", new Tensor(new long[] {2, 3}, new float[] {1, -2, 3.5f, Float.MIN_VALUE, 1e30f, -0f}));
        tensors.put("b.c", new Tensor(new long[] {1}, new float[] {42}));
        tensors.put("empty", new Tensor(new long[] {0, 4}, new float[0]));
        byte[] bytes = write(tensors);
        assertEquals(0, (ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong() % 8), "aligned header");
        Map<String, Tensor> back = read(bytes);
        assertEquals(tensors, back);
        Safetensors.Result result = Safetensors.readWithMetadata(new ByteArrayInputStream(bytes), bytes.length, "t");
        assertEquals("pt", result.metadata().get("format"));
    }

    @Test
    void truncatedOrHostileFilesGetClearErrors() throws IOException {
        byte[] good = write(Map.of("w", new Tensor(new long[] {4}, new float[] {1, 2, 3, 4})));
        CheckpointFormatException truncated = assertThrows(CheckpointFormatException.class,
                () -> read(Arrays.copyOf(good, good.length - 3)));
        assertTrue(truncated.getMessage().contains("test.safetensors"), truncated.getMessage());

        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE / 2);
        assertThrows(CheckpointFormatException.class, () -> read(huge));

        assertThrows(CheckpointFormatException.class, () -> read(file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1000000000,1000000000],\"data_offsets\":[0,16]}}", 16)));
        assertThrows(CheckpointFormatException.class, () -> read(file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1600]}}", 16)));
        assertThrows(CheckpointFormatException.class, () -> read(file(
                "{\"w\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16)));
        assertThrows(CheckpointFormatException.class, () -> read(file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16)));
        assertThrows(CheckpointFormatException.class, () -> read(file("not json", 0)));
    }

    @Test
    void decodesHalfAndBfloat16() throws IOException {
        // 1.0, -2.0, 65504 (max half), smallest subnormal half; bf16 of 1.5 is 0x3FC0
        ByteBuffer data = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x7BFF).putShort((short) 0x0001);
        data.putShort((short) 0x3FC0);
        byte[] bytes = file("{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]}}", 0, data.array());
        Map<String, Tensor> tensors = read(bytes);
        float[] half = tensors.get("h").values();
        assertEquals(1.0f, half[0]);
        assertEquals(-2.0f, half[1]);
        assertEquals(65504f, half[2]);
        assertEquals((float) Math.pow(2, -24), half[3]);
        assertEquals(1.5f, tensors.get("b").values()[0]);
    }

    private static byte[] file(String header, int dataBytes) {
        return file(header, dataBytes, new byte[dataBytes]);
    }

    private static byte[] file(String header, int ignored, byte[] data) {
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buffer = ByteBuffer.allocate(8 + headerBytes.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(headerBytes.length).put(headerBytes).put(data);
        return buffer.array();
    }

    @Test
    void writesBfloat16RoundedToNearestEven() throws IOException {
        // 1 + 2^-8 lies halfway between bfloat16 neighbours 1 and 1 + 2^-7: ties go to the even mantissa (1);
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: it goes to 1 + 2^-6
        float[] values = {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, -2.5f, 3.0e38f, 1e-40f, Float.NaN, 0.1f};
        float[] expected = {1f, 1f + 0x1p-6f, -2.5f, 226 * 0x1p120f, Float.intBitsToFloat(0x00010000), Float.NaN, 0.10009765625f}; // 3e38 = 1.7632 * 2^127 -> 226/128; subnormal 1e-40 keeps its top 7 mantissa bits
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("w", new Tensor(new long[] {values.length}, values));
        ByteArrayOutputStream f32 = new ByteArrayOutputStream();
        Safetensors.write(f32, tensors, Map.of());
        ByteArrayOutputStream bf16 = new ByteArrayOutputStream();
        Safetensors.write(bf16, tensors, Map.of(), Safetensors.StorageType.BF16);
        assertTrue(new String(bf16.toByteArray(), StandardCharsets.UTF_8).contains("\"dtype\":\"BF16\""));
        float[] read = Safetensors.read(new ByteArrayInputStream(bf16.toByteArray()), bf16.size(), "m").get("w")
                .values();
        for (int i = 0; i < values.length; i++) {
            if (Float.isNaN(expected[i])) {
                assertTrue(Float.isNaN(read[i]));
            } else {
                assertEquals(expected[i], read[i], Math.abs(expected[i]) * 1e-4 + 1e-45, "value " + values[i]);
            }
        }
        assertEquals(1f, read[0], 0f);
        assertEquals(1f + 0x1p-6f, read[1], 0f);
        assertEquals(Safetensors.StorageType.BF16, Safetensors.StorageType.parse("bfloat16"));
    }
}
