package io.whetstone.models.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.models.Architecture;
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
 * Hugging Face tensor names for every {@link Architecture}, to and from the engine's layout (and
 * {@code config.json} through {@link HfConfig}). Phi-3 stores the engine's fused q/k/v and gate/up as
 * {@code qkv_proj} and {@code gate_up_proj} ([out, in]); Qwen2's q/k/v biases and Qwen3's q/k norm weights
 * are permuted like the q and k rows; Gemma's norm weights w are the engine's 1 + w.
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

    /** {@code config.json} for {@code config}, with the tokenizer's special ids (see {@link HfConfig}). */
    public static ObjectNode configJson(ModelConfig config, int bosId, int eosId) {
        return HfConfig.write(config, bosId, eosId);
    }

    /** The model shape of a Hugging Face {@code config.json} (see {@link HfConfig}). */
    public static ModelConfig parseConfig(JsonNode root, String file) {
        return HfConfig.parse(root, file);
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
        Architecture architecture = config.architecture();
        double normOffset = architecture.normWeightsOffsetByOne() ? -1 : 0;
        out.put("model.embed_tokens.weight", tensor(store.tensor("embed")));
        for (int i = 0; i < config.layers(); i++) {
            String p = "model.layers." + i + ".";
            String e = "layers." + i + ".";
            INDArray wqkv = store.tensor(e + "wqkv");
            out.put(p + "input_layernorm.weight", tensor(store.tensor(e + "attn_norm").add(normOffset)));
            INDArray qRows = toHfRope(columns(wqkv, 0, q).transpose(), config.heads(), d);
            INDArray kRows = toHfRope(columns(wqkv, q, q + kv).transpose(), config.kvHeads(), d);
            INDArray vRows = columns(wqkv, q + kv, q + 2 * kv).transpose();
            if (architecture == Architecture.PHI3) {
                out.put(p + "self_attn.qkv_proj.weight", tensor(Nd4j.vstack(qRows, kRows, vRows)));
            } else {
                out.put(p + "self_attn.q_proj.weight", tensor(qRows));
                out.put(p + "self_attn.k_proj.weight", tensor(kRows));
                out.put(p + "self_attn.v_proj.weight", tensor(vRows));
            }
            if (config.variant().qkvBias()) {
                INDArray bias = store.tensor(e + "bqkv").reshape(config.qkvWidth(), 1);
                out.put(p + "self_attn.q_proj.bias", vector(toHfRope(bias.get(rows(0, q)), config.heads(), d)));
                out.put(p + "self_attn.k_proj.bias", vector(toHfRope(bias.get(rows(q, q + kv)), config.kvHeads(), d)));
                out.put(p + "self_attn.v_proj.bias", vector(bias.get(rows(q + kv, q + 2 * kv))));
            }
            if (config.variant().qkNorm()) {
                out.put(p + "self_attn.q_norm.weight", vector(toHfRope(store.tensor(e + "q_norm").reshape(d, 1), 1, d)));
                out.put(p + "self_attn.k_norm.weight", vector(toHfRope(store.tensor(e + "k_norm").reshape(d, 1), 1, d)));
            }
            out.put(p + "self_attn.o_proj.weight", tensor(store.tensor(e + "wo").transpose()));
            if (config.variant().outputBias()) {
                out.put(p + "self_attn.o_proj.bias", tensor(store.tensor(e + "bo")));
            }
            out.put(p + "post_attention_layernorm.weight", tensor(store.tensor(e + "ffn_norm").add(normOffset)));
            INDArray gateUp = store.tensor(e + "w_gate_up");
            if (architecture == Architecture.PHI3) {
                out.put(p + "mlp.gate_up_proj.weight", tensor(gateUp.transpose()));
            } else {
                out.put(p + "mlp.gate_proj.weight", tensor(columns(gateUp, 0, f).transpose()));
                out.put(p + "mlp.up_proj.weight", tensor(columns(gateUp, f, 2 * f).transpose()));
            }
            out.put(p + "mlp.down_proj.weight", tensor(store.tensor(e + "w_down").transpose()));
        }
        out.put("model.norm.weight", tensor(store.tensor("norm").add(normOffset)));
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
        Architecture architecture = config.architecture();
        double normOffset = architecture.normWeightsOffsetByOne() ? 1 : 0;
        assign(store.tensor("embed"), hf(tensors, "model.embed_tokens.weight", file, config.vocabSize(), c));
        for (int i = 0; i < config.layers(); i++) {
            String p = "model.layers." + i + ".";
            String e = "layers." + i + ".";
            assign(store.tensor(e + "attn_norm"), hf(tensors, p + "input_layernorm.weight", file, c).add(normOffset));
            INDArray qRows;
            INDArray kRows;
            INDArray vRows;
            if (architecture == Architecture.PHI3) {
                INDArray fused = hf(tensors, p + "self_attn.qkv_proj.weight", file, q + 2L * kv, c);
                qRows = fused.get(rows(0, q));
                kRows = fused.get(rows(q, q + kv));
                vRows = fused.get(rows(q + kv, q + 2 * kv));
            } else {
                qRows = hf(tensors, p + "self_attn.q_proj.weight", file, q, c);
                kRows = hf(tensors, p + "self_attn.k_proj.weight", file, kv, c);
                vRows = hf(tensors, p + "self_attn.v_proj.weight", file, kv, c);
            }
            INDArray wqkv = store.tensor(e + "wqkv");
            columns(wqkv, 0, q).assign(fromHfRope(qRows, config.heads(), d).transpose());
            columns(wqkv, q, q + kv).assign(fromHfRope(kRows, config.kvHeads(), d).transpose());
            columns(wqkv, q + kv, q + 2 * kv).assign(vRows.transpose());
            if (config.variant().qkvBias()) {
                INDArray bias = store.tensor(e + "bqkv");
                bias.get(NDArrayIndex.interval(0, q)).assign(fromHfRope(
                        hf(tensors, p + "self_attn.q_proj.bias", file, q).reshape(q, 1), config.heads(), d)
                        .reshape(q).castTo(bias.dataType()));
                bias.get(NDArrayIndex.interval(q, q + kv)).assign(fromHfRope(
                        hf(tensors, p + "self_attn.k_proj.bias", file, kv).reshape(kv, 1), config.kvHeads(), d)
                        .reshape(kv).castTo(bias.dataType()));
                bias.get(NDArrayIndex.interval(q + kv, q + 2 * kv)).assign(
                        hf(tensors, p + "self_attn.v_proj.bias", file, kv).castTo(bias.dataType()));
            }
            if (config.variant().qkNorm()) {
                assign(store.tensor(e + "q_norm"),
                        fromHfRope(hf(tensors, p + "self_attn.q_norm.weight", file, d).reshape(d, 1), 1, d).reshape(d));
                assign(store.tensor(e + "k_norm"),
                        fromHfRope(hf(tensors, p + "self_attn.k_norm.weight", file, d).reshape(d, 1), 1, d).reshape(d));
            }
            assign(store.tensor(e + "wo"), hf(tensors, p + "self_attn.o_proj.weight", file, c, q).transpose());
            if (config.variant().outputBias()) {
                assign(store.tensor(e + "bo"), hf(tensors, p + "self_attn.o_proj.bias", file, c));
            }
            assign(store.tensor(e + "ffn_norm"),
                    hf(tensors, p + "post_attention_layernorm.weight", file, c).add(normOffset));
            INDArray gateUp = store.tensor(e + "w_gate_up");
            if (architecture == Architecture.PHI3) {
                assign(gateUp, hf(tensors, p + "mlp.gate_up_proj.weight", file, 2L * f, c).transpose());
            } else {
                columns(gateUp, 0, f).assign(hf(tensors, p + "mlp.gate_proj.weight", file, f, c).transpose());
                columns(gateUp, f, 2 * f).assign(hf(tensors, p + "mlp.up_proj.weight", file, f, c).transpose());
            }
            assign(store.tensor(e + "w_down"), hf(tensors, p + "mlp.down_proj.weight", file, c, f).transpose());
        }
        assign(store.tensor("norm"), hf(tensors, "model.norm.weight", file, c).add(normOffset));
        if (!config.tiedEmbeddings()) {
            assign(store.tensor("lm_head"), hf(tensors, "lm_head.weight", file, config.vocabSize(), c));
        }
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex[] rows(long from, long to) {
        return new org.nd4j.linalg.indexing.INDArrayIndex[] {NDArrayIndex.interval(from, to), NDArrayIndex.all()};
    }

    private static Tensor vector(INDArray column) {
        INDArray dense = column.castTo(DataType.FLOAT).dup('c');
        return new Tensor(new long[] {dense.length()}, dense.data().asFloat());
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
