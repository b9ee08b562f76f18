package io.whetstone.models.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.models.Arrays4Test;
import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Logits and masked cross-entropy of tiny fixed-weight GPT-2 and Llama models equal PyTorch's
 * (float64), computed by {@code src/test/resources/golden/make_golden.py} and checked in as JSON.
 * Weights follow the closed formula documented in that script.
 */
class GoldenValuesTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("gpt2", new EngineOptions(DataType.FLOAT, KernelChoice.FUSED_CPU, 2), 1e-5),
                Arguments.of("gpt2", new EngineOptions(DataType.FLOAT, KernelChoice.ND4J, 2), 1e-5),
                Arguments.of("gpt2", EngineOptions.fp64Reference(), 1e-10),
                Arguments.of("llama", new EngineOptions(DataType.FLOAT, KernelChoice.FUSED_CPU, 2), 1e-5),
                Arguments.of("llama", new EngineOptions(DataType.FLOAT, KernelChoice.ND4J, 2), 1e-5),
                Arguments.of("llama", EngineOptions.fp64Reference(), 1e-10));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void logitsAndLossMatchPyTorch(String name, EngineOptions options, double tolerance) throws IOException {
        assumeTrue(options.kernels() != KernelChoice.FUSED_CPU || KernelChoice.cpuBackend(),
                "the fused kernels read host memory: CPU backend only");
        JsonNode golden = read(name + ".json");
        JsonNode c = golden.get("config");
        Family family = Family.parse(c.get("family").asText());
        ModelConfig config = family == Family.GPT2
                ? ModelConfig.gpt2(c.get("vocab_size").asInt(), c.get("width").asInt(), c.get("layers").asInt(),
                        c.get("heads").asInt(), c.get("max_seq_len").asInt())
                : ModelConfig.llama(c.get("vocab_size").asInt(), c.get("width").asInt(), c.get("layers").asInt(),
                        c.get("heads").asInt(), c.get("kv_heads").asInt(), c.get("ffn_hidden").asInt(),
                        c.get("max_seq_len").asInt());
        Map<String, INDArray> hf = formulaTensors(golden.get("tensors"));

        JsonNode tokenRows = golden.get("tokens");
        int batch = tokenRows.size();
        int seqLen = tokenRows.get(0).size();
        int[] tokens = new int[batch * seqLen];
        int[] targets = new int[batch * seqLen];
        float[] mask = new float[batch * seqLen];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                tokens[i] = tokenRows.get(b).get(t).asInt();
                targets[i] = t + 1 < seqLen ? tokenRows.get(b).get(t + 1).asInt() : -1;
                mask[i] = golden.get("mask").get(b).get(t).floatValue();
            }
        }
        double[] expectedLogits = new double[golden.get("logits").size()];
        for (int i = 0; i < expectedLogits.length; i++) {
            expectedLogits[i] = golden.get("logits").get(i).asDouble();
        }

        try (Transformer model = new Transformer(config, options)) {
            load(model, config, hf);
            TokenBatch tokenBatch = new TokenBatch(tokens, targets, mask, batch, seqLen);
            ForwardPass pass = model.forward(tokens, targets, batch, seqLen);
            INDArray expected = Nd4j.createFromArray(expectedLogits).reshape(batch * seqLen, config.vocabSize());
            double error = Arrays4Test.relativeError(expected, pass.logits());
            assertTrue(error <= tolerance, name + " logits differ from PyTorch by " + error);
            double loss = new MaskedCrossEntropy().evaluate(pass, tokenBatch, tokenBatch.maskedTokens()).loss();
            double expectedLoss = golden.get("loss").asDouble();
            assertEquals(expectedLoss, loss, tolerance * Math.abs(expectedLoss), name + " loss");
        }
    }

    private static JsonNode read(String file) throws IOException {
        try (InputStream in = GoldenValuesTest.class.getResourceAsStream("/golden/" + file)) {
            return new ObjectMapper().readTree(in);
        }
    }

    /** The tensors of make_golden.py: element j of tensor t is scale*sin(0.37 j + 1.1 t + 0.5) + base. */
    private static Map<String, INDArray> formulaTensors(JsonNode specs) {
        Map<String, INDArray> tensors = new HashMap<>();
        for (int t = 0; t < specs.size(); t++) {
            JsonNode spec = specs.get(t);
            long[] shape = new long[spec.get(1).size()];
            long length = 1;
            for (int d = 0; d < shape.length; d++) {
                shape[d] = spec.get(1).get(d).asLong();
                length *= shape[d];
            }
            boolean norm = spec.get(2).asBoolean();
            double scale = norm ? 0.1 : 0.2;
            double base = norm ? 1.0 : 0.0;
            double[] values = new double[(int) length];
            for (int j = 0; j < values.length; j++) {
                values[j] = scale * Math.sin(0.37 * j + 1.1 * t + 0.5) + base;
            }
            tensors.put(spec.get(0).asText(), Nd4j.createFromArray(values).reshape(shape));
        }
        return tensors;
    }

    /** Copies Hugging Face-named tensors into the engine's layout (Llama: transposed and fused). */
    private static void load(Transformer model, ModelConfig config, Map<String, INDArray> hf) {
        ParameterStore store = model.parameters();
        DataType type = store.dataType();
        if (config.family() == Family.GPT2) {
            for (TensorSpec spec : store.layout().tensors()) {
                store.tensor(spec.name()).assign(hf.get(spec.name()).castTo(type));
            }
            return;
        }
        store.tensor("embed").assign(hf.get("model.embed_tokens.weight").castTo(type));
        store.tensor("norm").assign(hf.get("model.norm.weight").castTo(type));
        store.tensor("lm_head").assign(hf.get("lm_head.weight").castTo(type));
        int q = config.heads() * config.headSize();
        int kv = config.kvHeads() * config.headSize();
        int f = config.ffnHidden();
        for (int i = 0; i < config.layers(); i++) {
            String p = "model.layers." + i + ".";
            String e = "layers." + i + ".";
            store.tensor(e + "attn_norm").assign(hf.get(p + "input_layernorm.weight").castTo(type));
            store.tensor(e + "ffn_norm").assign(hf.get(p + "post_attention_layernorm.weight").castTo(type));
            INDArray wqkv = store.tensor(e + "wqkv");
            wqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, q))
                    .assign(hf.get(p + "self_attn.q_proj.weight").transpose().castTo(type));
            wqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(q, q + kv))
                    .assign(hf.get(p + "self_attn.k_proj.weight").transpose().castTo(type));
            wqkv.get(NDArrayIndex.all(), NDArrayIndex.interval(q + kv, q + 2 * kv))
                    .assign(hf.get(p + "self_attn.v_proj.weight").transpose().castTo(type));
            store.tensor(e + "wo").assign(hf.get(p + "self_attn.o_proj.weight").transpose().castTo(type));
            INDArray gateUp = store.tensor(e + "w_gate_up");
            gateUp.get(NDArrayIndex.all(), NDArrayIndex.interval(0, f))
                    .assign(hf.get(p + "mlp.gate_proj.weight").transpose().castTo(type));
            gateUp.get(NDArrayIndex.all(), NDArrayIndex.interval(f, 2 * f))
                    .assign(hf.get(p + "mlp.up_proj.weight").transpose().castTo(type));
            store.tensor(e + "w_down").assign(hf.get(p + "mlp.down_proj.weight").transpose().castTo(type));
        }
    }
}
