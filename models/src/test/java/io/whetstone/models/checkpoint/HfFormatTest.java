package io.whetstone.models.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.TinyModels;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.RopeTable;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class HfFormatTest {

    static Stream<ModelConfig> models() {
        return Stream.of(ModelConfig.gpt2(50, 16, 2, 2, 12), ModelConfig.llama(50, 16, 2, 4, 2, 24, 12));
    }

    @ParameterizedTest
    @MethodSource("models")
    void exportThenLoadGivesIdenticalLogits(ModelConfig config) throws IOException {
        TokenBatch batch = TinyModels.batch(config, 2, 10, 3);
        try (Transformer original = new Transformer(config, EngineOptions.fp32(1));
             Transformer loaded = new Transformer(config, EngineOptions.fp32(1))) {
            original.initialize(5);
            original.parameters().params().muli(3);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Safetensors.write(out, HfFormat.export(original.parameters(), config), Map.of());
            byte[] bytes = out.toByteArray();
            Map<String, Tensor> tensors = Safetensors.read(new ByteArrayInputStream(bytes), bytes.length, "m");
            ModelConfig parsed = HfFormat.parseConfig(HfFormat.configJson(config, 1, 2), "config.json");
            assertEquals(config, parsed);
            HfFormat.load(tensors, loaded.parameters(), parsed, "m");
            assertArrayEquals(original.parameters().params().data().asFloat(),
                    loaded.parameters().params().data().asFloat(), 0f);
            INDArray a = original.forward(batch.tokens(), batch.targets(), 2, 10).logits().dup();
            INDArray b = loaded.forward(batch.tokens(), batch.targets(), 2, 10).logits();
            assertEquals(a, b);
        }
    }

    @Test
    void missingOrMisShapedTensorsAreNamed() {
        ModelConfig config = ModelConfig.llama(50, 16, 1, 4, 2, 24, 12);
        try (Transformer model = new Transformer(config, EngineOptions.fp32(1))) {
            Map<String, Tensor> tensors = new java.util.HashMap<>(HfFormat.export(model.parameters(), config));
            tensors.remove("model.layers.0.mlp.up_proj.weight");
            CheckpointFormatException missing = assertThrows(CheckpointFormatException.class,
                    () -> HfFormat.load(tensors, model.parameters(), config, "x.safetensors"));
            assertEquals("x.safetensors: missing tensor model.layers.0.mlp.up_proj.weight", missing.getMessage());
        }
    }

    /**
     * The exported q/k rows, rotated with Hugging Face's rotate_half (pairs i, i+D/2), give the engine's
     * rotated q/k (pairs 2i, 2i+1) up to the same per-head permutation, so every q.k score is equal.
     */
    @Test
    void exportedRowsMatchHuggingFaceRotateHalf() {
        int heads = 2;
        int d = 8;
        int in = 5;
        INDArray engineRows = Nd4j.rand(DataType.DOUBLE, heads * d, in);
        INDArray hfRows = HfFormat.toHfRope(engineRows, heads, d);
        assertEquals(engineRows, HfFormat.fromHfRope(hfRows, heads, d));
        INDArray x = Nd4j.rand(DataType.DOUBLE, in);
        INDArray qEngine = engineRows.mmul(x);
        INDArray qHf = hfRows.mmul(x);
        RopeTable rope = RopeTable.create(16, d, 10000.0, DataType.DOUBLE);
        int position = 11;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                double cos = rope.cos().getDouble(position, i);
                double sin = rope.sin().getDouble(position, i);
                // engine: adjacent pair (2i, 2i+1)
                double e0 = qEngine.getDouble(h * d + 2 * i);
                double e1 = qEngine.getDouble(h * d + 2 * i + 1);
                double engine0 = e0 * cos - e1 * sin;
                double engine1 = e0 * sin + e1 * cos;
                // HF: out = q * cos + rotate_half(q) * sin, rotate_half(q)[i] = -q[i + D/2], [i + D/2] = q[i]
                double h0 = qHf.getDouble(h * d + i);
                double h1 = qHf.getDouble(h * d + i + d / 2);
                double hf0 = h0 * cos - h1 * sin;
                double hf1 = h1 * cos + h0 * sin;
                assertEquals(engine0, hf0, 1e-12);
                assertEquals(engine1, hf1, 1e-12);
            }
        }
    }
}
