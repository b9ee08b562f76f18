package io.whetstone.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** convert of a Hugging Face directory written by transformers (the models module's golden Qwen3), in bfloat16. */
class ConvertCommandTest {

    @Test
    void bfloat16HalvesTheWeightsAndKeepsTheModel(@TempDir Path dir) throws IOException {
        Path source = Path.of("..", "models", "src", "test", "resources", "hf-golden", "qwen3").toAbsolutePath()
                .normalize();
        Path f32 = dir.resolve("f32");
        Path bf16 = dir.resolve("bf16");
        assertEquals(0, Whetstone.execute("convert", "--from", source.toUri().toString(), "--to", f32.toUri().toString()));
        assertEquals(0, Whetstone.execute("convert", "--from", source.toUri().toString(), "--to", bf16.toUri().toString(),
                "--dtype", "bfloat16"));
        assertEquals("bfloat16", new ObjectMapper().readTree(bf16.resolve("config.json").toFile())
                .get("torch_dtype").asText());
        assertEquals("qwen3", new ObjectMapper().readTree(bf16.resolve("config.json").toFile())
                .get("model_type").asText());
        String header = new String(Files.readAllBytes(bf16.resolve("model.safetensors")), 0, 4096,
                StandardCharsets.ISO_8859_1);
        assertTrue(header.contains("\"dtype\":\"BF16\"") && !header.contains("\"F32\""), header);
        long full = Files.size(f32.resolve("model.safetensors"));
        long half = Files.size(bf16.resolve("model.safetensors"));
        assertTrue(half < 0.55 * full, half + " vs " + full);
        HadoopFiles files = new HadoopFiles(new Configuration());
        float[] original = ModelSources.load(files, source.toUri().toString()).params();
        CheckpointStore.ModelAndTokenizer reloaded = CheckpointStore.loadModel(files, bf16.toUri().toString());
        assertEquals("qwen3", reloaded.config().architecture().modelType());
        for (int i = 0; i < original.length; i++) {
            // bfloat16 keeps 8 significant bits: within 2^-8 relative of the float32 value
            assertEquals(original[i], reloaded.params()[i], Math.abs(original[i]) * 0x1p-8f + 1e-30f, "parameter " + i);
        }
        assertEquals(2, Whetstone.execute("convert", "--from", source.toUri().toString(), "--to",
                dir.resolve("x").toUri().toString(), "--dtype", "float8"));
    }
}
