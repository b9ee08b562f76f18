package io.whetstone.models.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.Assets;
import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.GreedyDecoder;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real stories260K GGUF model: its shape, its weights, and its documented greedy continuation. */
class GgufTest {

    /** llama2.c's run.c -t 0 from BOS (shared/assets/README.md). */
    static final int[] EXPECTED = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};

    static GgufFile open(Path path) throws IOException {
        return GgufFile.read(RandomAccessSource.of(path), path.toString());
    }

    @Test
    void readsTheRealModelAndReproducesItsGreedyContinuation() throws IOException {
        GgufFile file = open(Assets.path("stories260K.gguf"));
        assertEquals(3, file.version());
        assertEquals(48, file.tensors().size());
        ModelConfig config = GgufModel.config(file);
        assertEquals(new ModelConfig(Family.LLAMA, 512, 64, 5, 8, 4, 172, 2048, config.normEps(), 10000.0, false),
                config);
        assertEquals(1e-5, config.normEps(), 1e-9);
        float[] params = GgufModel.parameters(file, config);
        try (Transformer model = new Transformer(config, EngineOptions.fp32(2))) {
            TrainingState.copyInto(params, model.parameters().params());
            List<Completion> cached = new KvCacheDecoder(model).generate(List.of(new int[] {1}),
                    SamplingConfig.greedy(EXPECTED.length));
            assertArrayEquals(EXPECTED, cached.get(0).tokens());
            List<int[]> uncached = new GreedyDecoder(model).generate(List.of(new int[] {1}), EXPECTED.length,
                    new int[0]);
            assertArrayEquals(EXPECTED, uncached.get(0));
        }
    }

    @Test
    void truncatedOrCorruptFilesGetClearErrors(@TempDir Path dir) throws IOException {
        byte[] bytes = Files.readAllBytes(Assets.path("stories260K.gguf"));
        for (int length : new int[] {3, 20, 200, 5000, bytes.length - 100}) {
            Path cut = dir.resolve("cut-" + length + ".gguf");
            Files.write(cut, Arrays.copyOf(bytes, length));
            CheckpointFormatException error = assertThrows(CheckpointFormatException.class,
                    () -> GgufModel.parameters(open(cut), GgufModel.config(open(cut))));
            assertTrue(error.getMessage().contains(cut.toString()) || error.getMessage().contains("GGUF"),
                    error.getMessage());
        }
        byte[] hostile = bytes.clone();
        ByteBuffer.wrap(hostile).order(ByteOrder.LITTLE_ENDIAN).putLong(8, 1L << 40); // tensor count
        Path huge = dir.resolve("huge.gguf");
        Files.write(huge, hostile);
        CheckpointFormatException error = assertThrows(CheckpointFormatException.class, () -> open(huge));
        assertTrue(error.getMessage().contains("tensor count"), error.getMessage());
        byte[] notGguf = bytes.clone();
        notGguf[0] = 'X';
        Path other = dir.resolve("other.gguf");
        Files.write(other, notGguf);
        assertFalse(assertThrows(CheckpointFormatException.class, () -> open(other)).getMessage().isEmpty());
    }
}
