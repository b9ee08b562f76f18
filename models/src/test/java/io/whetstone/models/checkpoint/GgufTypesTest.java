package io.whetstone.models.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GGUF tensor types the real asset (all F32) does not use, on a small file built here. */
class GgufTypesTest {

    /** A GGUF v3 file with tensors f16 [4] (F16), bf16 [2] (BF16) and q8 [2, 32] (Q8_0, two blocks). */
    static byte[] file() {
        ByteBuffer data = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        // f16 at offset 0: 1, -2, 0.5, 65504
        data.putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x3800).putShort((short) 0x7BFF);
        data.position(32);
        // bf16 at offset 32: 1.5, -3
        data.putShort((short) 0x3FC0).putShort((short) 0xC040);
        data.position(64);
        // q8 at offset 64: block 1 scale 0.5, quants -16..15; block 2 scale 2.0, quants 0..31
        data.putShort((short) 0x3800);
        for (int i = 0; i < 32; i++) {
            data.put((byte) (i - 16));
        }
        data.putShort((short) 0x4000);
        for (int i = 0; i < 32; i++) {
            data.put((byte) i);
        }
        int dataLength = 64 + 2 * 34;

        ByteArrayOutputStream header = new ByteArrayOutputStream();
        ByteBuffer fixed = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        fixed.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(3).putLong(1);
        header.writeBytes(fixed.array());
        header.writeBytes(string("general.architecture"));
        header.writeBytes(le(8));
        header.writeBytes(string("test"));
        tensor(header, "f16", new long[] {4}, 1, 0);
        tensor(header, "bf16", new long[] {2}, 30, 32);
        tensor(header, "q8", new long[] {32, 2}, 8, 64);
        int aligned = (header.size() + 31) / 32 * 32;
        byte[] out = new byte[aligned + dataLength];
        System.arraycopy(header.toByteArray(), 0, out, 0, header.size());
        System.arraycopy(data.array(), 0, out, aligned, dataLength);
        return out;
    }

    private static void tensor(ByteArrayOutputStream out, String name, long[] dims, int type, long offset) {
        out.writeBytes(string(name));
        out.writeBytes(le(dims.length));
        for (long dim : dims) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(dim).array());
        }
        out.writeBytes(le(type));
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(offset).array());
    }

    private static byte[] string(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + bytes.length).order(ByteOrder.LITTLE_ENDIAN).putLong(bytes.length).put(bytes).array();
    }

    private static byte[] le(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }

    @Test
    void decodesHalfBfloatAndQ8(@TempDir Path dir) throws IOException {
        Path path = dir.resolve("types.gguf");
        Files.write(path, file());
        GgufFile gguf = GgufFile.read(RandomAccessSource.of(path), path.toString());
        assertEquals("test", gguf.require("general.architecture", String.class));
        assertArrayEquals(new float[] {1, -2, 0.5f, 65504}, gguf.floats("f16"));
        assertArrayEquals(new float[] {1.5f, -3}, gguf.floats("bf16"));
        assertArrayEquals(new long[] {2, 32}, gguf.tensors().get("q8").shape());
        float[] q8 = gguf.floats("q8");
        for (int i = 0; i < 32; i++) {
            assertEquals(0.5f * (i - 16), q8[i]);
            assertEquals(2.0f * i, q8[32 + i]);
        }
    }

    @Test
    void tensorsOutsideTheFileAreRefused(@TempDir Path dir) throws IOException {
        byte[] bytes = file();
        Path cut = dir.resolve("cut.gguf");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 10));
        CheckpointFormatException error = assertThrows(CheckpointFormatException.class,
                () -> GgufFile.read(RandomAccessSource.of(cut), cut.toString()));
        assertTrue(error.getMessage().contains("tensor q8") && error.getMessage().contains("outside the file"),
                error.getMessage());
    }

    @org.junit.jupiter.api.Test
    void tensorsTheEngineWouldIgnoreAreRefused() {
        GgufModel.checkTensorNames(java.util.List.of("token_embd.weight", "blk.3.ffn_gate.weight", "output.weight"));
        for (String name : java.util.List.of("rope_freqs.weight", "blk.0.attn_q.bias")) {
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> GgufModel.checkTensorNames(java.util.List.of("token_embd.weight", name)));
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
    }
}
