package io.whetstone.models.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Every architecture against Hugging Face transformers itself: tiny random models written by transformers
 * (perturbed biases and norms; {@code src/test/resources/hf-golden/make_hf_golden.py} made them and their
 * golden logits and greedy continuations), loaded here from config.json and model.safetensors. The logits of
 * the fast fp32 path and of the plain fp64 reference kernels match to 1e-4 relative, the KV-cache sampler's
 * greedy continuations match token for token, and export writes back the same tensors and an equal config.
 */
class HfArchitecturesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CASES = "llama, llama-tied, qwen2, qwen3, mistral, phi3, gemma";

    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama-tied", "qwen2", "qwen3", "mistral", "phi3", "gemma"})
    void logitsAndGreedyContinuationsMatchTransformers(String name) throws IOException {
        JsonNode configJson = resource(name, "config.json");
        ModelConfig config = HfConfig.parse(configJson, name + "/config.json");
        assertEquals(configJson.path("model_type").asText(), config.architecture().modelType());
        Map<String, Tensor> tensors = safetensors(name);
        JsonNode golden = resource(name, "golden.json");
        int[][] sequences = ints(golden.get("sequences"));
        int batch = sequences.length;
        int seqLen = sequences[0].length;
        int[] tokens = new int[batch * seqLen];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(sequences[b], 0, tokens, b * seqLen, seqLen);
        }
        int[] targets = new int[tokens.length];
        java.util.Arrays.fill(targets, -1);
        for (EngineOptions options : List.of(EngineOptions.fp32(1), EngineOptions.fp64Reference())) {
            try (Transformer model = new Transformer(config, options)) {
                HfFormat.load(tensors, model.parameters(), config, name);
                INDArray logits = model.forward(tokens, targets, batch, seqLen).logits(); // [B*T, V]
                double worst = 0;
                JsonNode expected = golden.get("logits");
                for (int b = 0; b < batch; b++) {
                    for (int t = 0; t < seqLen; t++) {
                        for (int v = 0; v < config.vocabSize(); v++) {
                            double want = expected.get(b).get(t).get(v).asDouble();
                            double got = logits.getDouble((long) b * seqLen + t, v);
                            worst = Math.max(worst, Math.abs(got - want) / Math.max(1.0, Math.abs(want)));
                        }
                    }
                }
                assertTrue(worst < 1e-4, name + " with " + options.kernels() + ": logits off by " + worst);
            }
        }
        try (Transformer model = new Transformer(config, EngineOptions.fp32(1))) {
            HfFormat.load(tensors, model.parameters(), config, name);
            List<int[]> prompts = List.of(ints(golden.get("prompts")));
            List<Completion> completions = new KvCacheDecoder(model).generate(prompts, SamplingConfig.greedy(8));
            int[][] greedy = ints(golden.get("greedy"));
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(greedy[i], completions.get(i).tokens(), name + " prompt " + i);
            }
            // export: the same tensors under the same names, and a config that parses to the same model
            Map<String, Tensor> exported = HfFormat.export(model.parameters(), config);
            assertEquals(tensors.keySet(), exported.keySet());
            for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
                float[] want = entry.getValue().values();
                float[] got = exported.get(entry.getKey()).values();
                assertArrayEquals(entry.getValue().shape(), exported.get(entry.getKey()).shape(), entry.getKey());
                for (int i = 0; i < want.length; i++) {
                    // Gemma's norms go through 1 + w and back: one float rounding
                    assertEquals(want[i], got[i], 1e-6, entry.getKey());
                }
            }
            ObjectNode written = HfConfig.write(config, 1, 2);
            assertEquals(config, HfConfig.parse(written, "written"));
            assertEquals(configJson.path("architectures").get(0).asText(), written.path("architectures").get(0).asText());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Safetensors.write(out, exported, Map.of());
            assertEquals(tensors.size(), Safetensors.read(new ByteArrayInputStream(out.toByteArray()), out.size(), "x")
                    .size());
        }
    }

    /** transformers 4.x keys (rope_theta, rope_scaling, torch_dtype) give the same model as 5.x's. */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama-tied", "qwen3", "gemma"})
    void transformers4KeysParseToTheSameModel(String name) throws IOException {
        ObjectNode v5 = (ObjectNode) resource(name, "config.json");
        ObjectNode v4 = v5.deepCopy();
        ObjectNode rope = (ObjectNode) v4.remove("rope_parameters");
        v4.put("rope_theta", rope.remove("rope_theta").asDouble());
        if (rope.path("rope_type").asText().equals("default")) {
            v4.putNull("rope_scaling");
        } else {
            v4.set("rope_scaling", rope);
        }
        v4.set("torch_dtype", v4.remove("dtype"));
        assertEquals(HfConfig.parse(v5, "v5"), HfConfig.parse(v4, "v4"));
    }

    private static JsonNode resource(String name, String file) throws IOException {
        try (InputStream in = HfArchitecturesTest.class.getResourceAsStream("/hf-golden/" + name + "/" + file)) {
            if (in == null) {
                throw new IOException("missing test resource hf-golden/" + name + "/" + file + " (cases: " + CASES + ")");
            }
            return JSON.readTree(in);
        }
    }

    static Map<String, Tensor> safetensors(String name) throws IOException {
        try (InputStream in = HfArchitecturesTest.class.getResourceAsStream("/hf-golden/" + name + "/model.safetensors")) {
            byte[] bytes = in.readAllBytes();
            return Safetensors.read(new ByteArrayInputStream(bytes), bytes.length, name + "/model.safetensors");
        }
    }

    private static int[][] ints(JsonNode rows) {
        List<int[]> out = new ArrayList<>();
        for (Iterator<JsonNode> it = rows.elements(); it.hasNext(); ) {
            JsonNode row = it.next();
            int[] values = new int[row.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = row.get(i).asInt();
            }
            out.add(values);
        }
        return out.toArray(int[][]::new);
    }

}
