package io.whetstone.models.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.models.Architecture;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.RopeScaling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** config.json parsing: what is read, what caps the context, and what is refused with the key named. */
class HfConfigTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode config(String modelType) {
        ObjectNode root = JSON.createObjectNode();
        root.put("model_type", modelType);
        root.put("vocab_size", 100);
        root.put("hidden_size", 32);
        root.put("intermediate_size", 64);
        root.put("num_hidden_layers", 2);
        root.put("num_attention_heads", 4);
        root.put("num_key_value_heads", 2);
        root.put("max_position_embeddings", 4096);
        return root;
    }

    private static String refusal(ObjectNode root) {
        return assertThrows(CheckpointFormatException.class, () -> HfConfig.parse(root, "dir/config.json"))
                .getMessage();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "llama|rope_scaling|{\"rope_type\": \"yarn\", \"factor\": 4.0}|rope_scaling.rope_type = yarn",
        "phi3|rope_scaling|{\"type\": \"longrope\", \"short_factor\": [1.0], \"long_factor\": [1.0]}|rope_scaling.rope_type = longrope",
        "llama|rope_parameters|{\"rope_type\": \"yarn\", \"rope_theta\": 10000.0, \"factor\": 4.0}|rope_parameters.rope_type = yarn",
        "phi3|partial_rotary_factor|0.75|partial_rotary_factor = 0.75",
        "gemma|final_logit_softcapping|30.0|final_logit_softcapping = 30.0",
        "llama|mlp_bias|true|mlp_bias = true",
        "qwen2|num_experts|8|num_experts = 8",
        "llama|quantization_config|{\"quant_method\": \"gptq\"}|quantization_config",
        "llama|hidden_act|\"gelu\"|hidden_act = gelu",
        "gemma|hidden_activation|\"silu\"|hidden_activation = silu",
    })
    void keysThatChangeTheComputationAreRefusedByName(String type, String key, String json, String expected)
            throws Exception {
        ObjectNode root = config(type);
        root.set(key, JSON.readTree(json));
        String message = refusal(root);
        assertTrue(message.startsWith("dir/config.json: " + expected), message);
        assertTrue(message.contains("not implemented"), message);
    }

    @Test
    void unknownModelTypesListWhatIsSupported() {
        assertEquals("dir/config.json: model_type 'mixtral' is not supported (gpt2, llama, qwen2, qwen3, mistral, "
                + "phi3, gemma)", refusal(config("mixtral")));
    }

    @Test
    void keysWithTheirNeutralValuesAreAccepted() throws Exception {
        ObjectNode root = config("llama");
        root.put("mlp_bias", false);
        root.putNull("final_logit_softcapping");
        root.put("partial_rotary_factor", 1.0);
        root.putNull("rope_scaling");
        root.put("hidden_act", "silu");
        assertEquals(new ModelConfig(io.whetstone.models.Family.LLAMA, 100, 32, 2, 4, 2, 64, 4096, 1e-6, 10000.0,
                false), HfConfig.parse(root, "c"));
        assertEquals(RopeScaling.NONE, HfConfig.parse(root, "c").variant().ropeScaling());
    }

    @Test
    void earlyGemmaConfigsSayingGeluGetTheirTanhApproximation() {
        ObjectNode gemma = config("gemma");
        gemma.put("hidden_act", "gelu"); // and no hidden_activation, as Gemma's first configs
        assertEquals(Architecture.GEMMA, HfConfig.parse(gemma, "c").architecture());
        gemma.put("hidden_activation", "gelu_pytorch_tanh");
        assertEquals(Architecture.GEMMA, HfConfig.parse(gemma, "c").architecture());
        gemma.put("hidden_activation", "gelu");
        assertTrue(refusal(gemma).contains("hidden_activation = gelu"), refusal(gemma));
        ObjectNode written = HfConfig.write(HfConfig.parse(config("gemma"), "c"), 1, 2);
        assertEquals("gelu_pytorch_tanh", written.get("hidden_act").asText());
        assertEquals("gelu_pytorch_tanh", written.get("hidden_activation").asText());
    }

    @Test
    void aSlidingWindowShorterThanTheContextCapsIt() {
        ObjectNode mistral = config("mistral");
        mistral.put("sliding_window", 1024);
        ModelConfig parsed = HfConfig.parse(mistral, "c");
        assertEquals(1024, parsed.maxSeqLen());
        assertEquals(1024, parsed.variant().slidingWindow());
        // Qwen2 declares a window but only uses it with use_sliding_window
        ObjectNode qwen = config("qwen2");
        qwen.put("sliding_window", 1024);
        qwen.put("use_sliding_window", false);
        assertEquals(4096, HfConfig.parse(qwen, "c").maxSeqLen());
        qwen.put("use_sliding_window", true);
        assertEquals(1024, HfConfig.parse(qwen, "c").maxSeqLen());
        // transformers 5's layer_types say which layers slide
        ObjectNode qwen3 = config("qwen3");
        qwen3.put("sliding_window", 1024);
        qwen3.putArray("layer_types").add("full_attention").add("full_attention");
        assertEquals(4096, HfConfig.parse(qwen3, "c").maxSeqLen());
        qwen3.putArray("layer_types").add("sliding_attention").add("full_attention");
        assertEquals(1024, HfConfig.parse(qwen3, "c").maxSeqLen());
    }

    @Test
    void dynamicRopeIsExactUpToTheOriginalContext() throws Exception {
        ObjectNode root = config("llama");
        root.set("rope_scaling", JSON.readTree("{\"type\": \"dynamic\", \"factor\": 2.0}"));
        ModelConfig parsed = HfConfig.parse(root, "c");
        assertEquals(4096, parsed.maxSeqLen());
        assertEquals(RopeScaling.NONE, parsed.variant().ropeScaling());
        root.set("rope_scaling", JSON.readTree(
                "{\"rope_type\": \"dynamic\", \"factor\": 2.0, \"original_max_position_embeddings\": 2048}"));
        assertEquals(2048, HfConfig.parse(root, "c").maxSeqLen());
    }

    @Test
    void perArchitectureDefaults() {
        assertEquals(Architecture.GEMMA, HfConfig.parse(config("gemma"), "c").architecture());
        assertTrue(HfConfig.parse(config("gemma"), "c").tiedEmbeddings(), "Gemma ties by default");
        assertTrue(HfConfig.parse(config("qwen2"), "c").variant().qkvBias(), "Qwen2 has q/k/v biases");
        assertTrue(HfConfig.parse(config("qwen3"), "c").variant().qkNorm(), "Qwen3 norms q and k");
        assertEquals(1e-5, HfConfig.parse(config("phi3"), "c").normEps());
        ObjectNode llama = config("llama");
        llama.put("attention_bias", true);
        assertTrue(HfConfig.parse(llama, "c").variant().outputBias());
        llama.put("head_dim", 8); // = 32 / 4: the default written out
        assertEquals(0, HfConfig.parse(llama, "c").variant().headDim());
        llama.put("head_dim", 16);
        assertEquals(16, HfConfig.parse(llama, "c").headSize());
    }

    @Test
    void llama3RopeKeepsHighFrequenciesAndDividesLowOnes() {
        // frequencies 1, 0.1, 0.01, 0.001: wavelengths 6.3, 63, 628, 6283 against 64/4 = 16 and 64/1 = 64
        RopeScaling scaling = RopeScaling.llama3(8, 1, 4, 64);
        double[] plain = RopeScaling.NONE.inverseFrequencies(8, 10000);
        double[] scaled = scaling.inverseFrequencies(8, 10000);
        assertEquals(plain[0], scaled[0], 0); // shorter than 16: kept
        assertEquals(plain[2] / 8, scaled[2], 1e-18); // longer than 64: divided
        assertTrue(scaled[1] < plain[1] && scaled[1] > plain[1] / 8); // between: interpolated
        double smooth = (64 / (2 * Math.PI / plain[1]) - 1) / (4 - 1);
        assertEquals((1 - smooth) * plain[1] / 8 + smooth * plain[1], scaled[1], 1e-15);
    }
}
