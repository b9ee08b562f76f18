package io.whetstone.models.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.engine.TensorSpec;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Hugging Face {@code config.json} and tensor names for both families, to and from the engine's layout.
 *
 * <p>GPT-2: names and [in, out] Conv1D shapes are the engine's own (as in the {@code gpt2} checkpoints).
 * Llama: the fused {@code wqkv} and {@code w_gate_up} are split into {@code q_proj}, {@code k_proj},
 * {@code v_proj}, {@code gate_proj}, {@code up_proj}, every projection is transposed to [out, in], and the
 * rows of q and k are permuted per head: the engine rotates adjacent pairs (2i, 2i+1) as GGUF and Meta's
 * reference do, while Hugging Face's {@code rotate_half} pairs feature i with i + D/2. HF row
 * {@code s*D/2 + i} of a head is engine row {@code 2i + s}.
 */
public final class HfFormat {

    private static final ObjectMapper JSON = new ObjectMapper();

    private HfFormat() {
    }

    /** {@code config.json} for {@code config}, with the tokenizer's special ids. */
    public static ObjectNode configJson(ModelConfig config, int bosId, int eosId) {
        ObjectNode root = JSON.createObjectNode();
        if (config.family() == Family.GPT2) {
            root.putArray("architectures").add("GPT2LMHeadModel");
            root.put("model_type", "gpt2");
            root.put("vocab_size", config.vocabSize());
            root.put("n_embd", config.width());
            root.put("n_layer", config.layers());
            root.put("n_head", config.heads());
            root.put("n_positions", config.maxSeqLen());
            root.put("n_ctx", config.maxSeqLen());
            root.put("n_inner", config.ffnHidden());
            root.put("activation_function", "gelu_new");
            root.put("layer_norm_epsilon", config.normEps());
            root.put("tie_word_embeddings", true);
        } else {
            root.putArray("architectures").add("LlamaForCausalLM");
            root.put("model_type", "llama");
            root.put("vocab_size", config.vocabSize());
            root.put("hidden_size", config.width());
            root.put("intermediate_size", config.ffnHidden());
            root.put("num_hidden_layers", config.layers());
            root.put("num_attention_heads", config.heads());
            root.put("num_key_value_heads", config.kvHeads());
            root.put("max_position_embeddings", config.maxSeqLen());
            root.put("rms_norm_eps", config.normEps());
            root.put("rope_theta", config.ropeTheta());
            root.put("hidden_act", "silu");
            root.put("attention_bias", false);
            root.put("mlp_bias", false);
            root.put("tie_word_embeddings", config.tiedEmbeddings());
        }
        root.put("bos_token_id", bosId);
        root.put("eos_token_id", eosId);
        root.put("torch_dtype", "float32");
        return root;
    }

    /** The model shape of a Hugging Face {@code config.json} (gpt2 or llama). */
    public static ModelConfig parseConfig(JsonNode root, String file) {
        String type = root.path("model_type").asText("");
        try {
            if (type.equals("gpt2")) {
                int width = need(root, "n_embd", file);
                int inner = root.path("n_inner").isNumber() ? root.get("n_inner").asInt() : 4 * width;
                return new ModelConfig(Family.GPT2, need(root, "vocab_size", file), width, need(root, "n_layer", file),
                        need(root, "n_head", file), need(root, "n_head", file), inner, need(root, "n_positions", file),
                        root.path("layer_norm_epsilon").asDouble(1e-5), 10000.0, true);
            }
            if (type.equals("llama")) {
                int heads = need(root, "num_attention_heads", file);
                return new ModelConfig(Family.LLAMA, need(root, "vocab_size", file), need(root, "hidden_size", file),
                        need(root, "num_hidden_layers", file), heads, root.path("num_key_value_heads").asInt(heads),
                        need(root, "intermediate_size", file), need(root, "max_position_embeddings", file),
                        root.path("rms_norm_eps").asDouble(1e-6), root.path("rope_theta").asDouble(10000.0),
                        root.path("tie_word_embeddings").asBoolean(false));
            }
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file + ": " + e.getMessage(), e);
        }
        throw new CheckpointFormatException(file + ": model_type '" + type + "' is not supported (gpt2, llama)");
    }

    private static int need(JsonNode root, String key, String file) {
        JsonNode value = root.get(key);
        if (value == null || !value.isNumber()) {
            throw new CheckpointFormatException(file + ": missing or non-numeric " + key);
        }
        return value.asInt();
    }

    /** The model's tensors under Hugging Face names and layouts. */
    public static Map<String, Tensor> export(ParameterStore store, ModelConfig config) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (config.family() == Family.GPT2) {
            for (TensorSpec spec : store.layout().tensors()) {
                out.put(spec.name(), tensor(store.tensor(spec.name())));
            }
            return out;
        }
        int d = config.headSize();
        int q = config.heads() * d;
        int kv = config.kvHeads() * d;
        int f = config.ffnHidden();
        out.put("model.embed_tokens.weight", tensor(store.tensor("embed")));
        for (int i = 0; i < config.layers(); i++) {
            String p = "model.layers." + i + ".";
            String e = "layers." + i + ".";
            INDArray wqkv = store.tensor(e + "wqkv");
            out.put(p + "input_layernorm.weight", tensor(store.tensor(e + "attn_norm")));
            out.put(p + "self_attn.q_proj.weight", tensor(toHfRope(columns(wqkv, 0, q).transpose(), config.heads(), d)));
            out.put(p + "self_attn.k_proj.weight",
                    tensor(toHfRope(columns(wqkv, q, q + kv).transpose(), config.kvHeads(), d)));
            out.put(p + "self_attn.v_proj.weight", tensor(columns(wqkv, q + kv, q + 2 * kv).transpose()));
            out.put(p + "self_attn.o_proj.weight", tensor(store.tensor(e + "wo").transpose()));
            out.put(p + "post_attention_layernorm.weight", tensor(store.tensor(e + "ffn_norm")));
            INDArray gateUp = store.tensor(e + "w_gate_up");
            out.put(p + "mlp.gate_proj.weight", tensor(columns(gateUp, 0, f).transpose()));
            out.put(p + "mlp.up_proj.weight", tensor(columns(gateUp, f, 2 * f).transpose()));
            out.put(p + "mlp.down_proj.weight", tensor(store.tensor(e + "w_down").transpose()));
        }
        out.put("model.norm.weight", tensor(store.tensor("norm")));
        if (!config.tiedEmbeddings()) {
            out.put("lm_head.weight", tensor(store.tensor("lm_head")));
        }
        return out;
    }

    /**
     * Loads Hugging Face tensors into the store; every tensor the model needs must be present with the
     * right shape (the error names the tensor). GPT-2 names may carry the {@code transformer.} prefix.
     */
    public static void load(Map<String, Tensor> tensors, ParameterStore store, ModelConfig config, String file) {
        if (config.family() == Family.GPT2) {
            for (TensorSpec spec : store.layout().tensors()) {
                Tensor tensor = tensors.containsKey(spec.name()) ? tensors.get(spec.name())
                        : tensors.get("transformer." + spec.name());
                assign(store.tensor(spec.name()), require(tensor, spec.name(), spec.shape(), file));
            }
            return;
        }
        int d = config.headSize();
        int q = config.heads() * d;
        int kv = config.kvHeads() * d;
        int f = config.ffnHidden();
        int c = config.width();
        assign(store.tensor("embed"), hf(tensors, "model.embed_tokens.weight", file, config.vocabSize(), c));
        for (int i = 0; i < config.layers(); i++) {
            String p = "model.layers." + i + ".";
            String e = "layers." + i + ".";
            assign(store.tensor(e + "attn_norm"), hf(tensors, p + "input_layernorm.weight", file, c));
            INDArray wqkv = store.tensor(e + "wqkv");
            columns(wqkv, 0, q).assign(fromHfRope(hf(tensors, p + "self_attn.q_proj.weight", file, q, c),
                    config.heads(), d).transpose());
            columns(wqkv, q, q + kv).assign(fromHfRope(hf(tensors, p + "self_attn.k_proj.weight", file, kv, c),
                    config.kvHeads(), d).transpose());
            columns(wqkv, q + kv, q + 2 * kv).assign(hf(tensors, p + "self_attn.v_proj.weight", file, kv, c)
                    .transpose());
            assign(store.tensor(e + "wo"), hf(tensors, p + "self_attn.o_proj.weight", file, c, q).transpose());
            assign(store.tensor(e + "ffn_norm"), hf(tensors, p + "post_attention_layernorm.weight", file, c));
            INDArray gateUp = store.tensor(e + "w_gate_up");
            columns(gateUp, 0, f).assign(hf(tensors, p + "mlp.gate_proj.weight", file, f, c).transpose());
            columns(gateUp, f, 2 * f).assign(hf(tensors, p + "mlp.up_proj.weight", file, f, c).transpose());
            assign(store.tensor(e + "w_down"), hf(tensors, p + "mlp.down_proj.weight", file, c, f).transpose());
        }
        assign(store.tensor("norm"), hf(tensors, "model.norm.weight", file, c));
        if (!config.tiedEmbeddings()) {
            assign(store.tensor("lm_head"), hf(tensors, "lm_head.weight", file, config.vocabSize(), c));
        }
    }

    private static INDArray hf(Map<String, Tensor> tensors, String name, String file, long... shape) {
        Tensor tensor = require(tensors.get(name), name, shape, file);
        return Nd4j.createFromArray(tensor.values()).reshape(tensor.shape());
    }

    private static Tensor require(Tensor tensor, String name, long[] shape, String file) {
        if (tensor == null) {
            throw new CheckpointFormatException(file + ": missing tensor " + name);
        }
        if (!java.util.Arrays.equals(tensor.shape(), shape)) {
            throw new CheckpointFormatException(file + ": tensor " + name + " has shape "
                    + java.util.Arrays.toString(tensor.shape()) + ", the config needs " + java.util.Arrays.toString(shape));
        }
        return tensor;
    }

    private static void assign(INDArray target, Tensor tensor) {
        target.assign(Nd4j.createFromArray(tensor.values()).reshape(tensor.shape()).castTo(target.dataType()));
    }

    private static void assign(INDArray target, INDArray source) {
        target.assign(source.castTo(target.dataType()));
    }

    private static INDArray columns(INDArray matrix, long from, long to) {
        return matrix.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to));
    }

    private static Tensor tensor(INDArray array) {
        INDArray dense = array.castTo(DataType.FLOAT).dup('c');
        return new Tensor(dense.shape(), dense.data().asFloat());
    }

    /** [heads*D, in] engine rows (pairs 2i, 2i+1) to HF rows (pairs i, i+D/2). */
    public static INDArray toHfRope(INDArray rows, int heads, int headSize) {
        long in = rows.size(1);
        // engine row 2i+s of a head -> HF row s*D/2 + i: view [heads, D/2, 2, in], swap the middle axes
        return rows.dup('c').reshape(heads, headSize / 2, 2, in).permute(0, 2, 1, 3).dup('c')
                .reshape((long) heads * headSize, in);
    }

    /** The inverse of {@link #toHfRope}. */
    public static INDArray fromHfRope(INDArray rows, int heads, int headSize) {
        long in = rows.size(1);
        return rows.dup('c').reshape(heads, 2, headSize / 2, in).permute(0, 2, 1, 3).dup('c')
                .reshape((long) heads * headSize, in);
    }
}
