package io.whetstone.models.checkpoint;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A GGUF file of the {@code llama} architecture as an engine model. llama.cpp's tensors are [out, in]
 * (GGUF lists dimensions fastest first) and rotate adjacent pairs (2i, 2i+1) like the engine, so loading
 * only transposes and fuses: q, k, v into {@code wqkv}, gate and up into {@code w_gate_up}.
 */
public final class GgufModel {

    private GgufModel() {
    }

    private static final java.util.regex.Pattern KNOWN_TENSOR = java.util.regex.Pattern.compile(
            "token_embd\\.weight|output_norm\\.weight|output\\.weight|blk\\.\\d+\\.(attn_norm|attn_q|attn_k|attn_v|"
                    + "attn_output|ffn_norm|ffn_gate|ffn_up|ffn_down)\\.weight");

    /** The model shape the file's metadata declares. */
    public static ModelConfig config(GgufFile file) {
        String architecture = file.require("general.architecture", String.class);
        if (!architecture.equals("llama")) {
            throw new CheckpointFormatException("GGUF architecture '" + architecture + "' is not supported (llama)");
        }
        GgufFile.TensorInfo embedding = file.tensors().get("token_embd.weight");
        if (embedding == null) {
            throw new CheckpointFormatException("GGUF file has no token_embd.weight");
        }
        int vocab = (int) embedding.shape()[0];
        int width = (int) file.requireInteger("llama.embedding_length");
        int heads = (int) file.requireInteger("llama.attention.head_count");
        Object kv = file.metadata().get("llama.attention.head_count_kv");
        int kvHeads = kv instanceof Number n ? n.intValue() : heads;
        double eps = file.require("llama.attention.layer_norm_rms_epsilon", Number.class).doubleValue();
        Object theta = file.metadata().get("llama.rope.freq_base");
        Object rotary = file.metadata().get("llama.rope.dimension_count");
        if (rotary instanceof Number n && n.intValue() != width / heads) {
            throw new CheckpointFormatException("GGUF rope.dimension_count " + n + " differs from the head size "
                    + width / heads + " (partial rotary embedding is not supported)");
        }
        Object scaling = file.metadata().get("llama.rope.scaling.type");
        if (scaling != null && !"none".equals(scaling)) {
            throw new CheckpointFormatException("GGUF llama.rope.scaling.type '" + scaling
                    + "' is not supported for GGUF files (convert the Hugging Face directory instead)");
        }
        Object keyLength = file.metadata().get("llama.attention.key_length");
        if (keyLength instanceof Number n && n.intValue() != width / heads) {
            throw new CheckpointFormatException("GGUF llama.attention.key_length " + n + " differs from the width / "
                    + "heads " + width / heads + " (not supported for GGUF files)");
        }
        checkTensorNames(file.tensors().keySet());
        try {
            return new ModelConfig(Family.LLAMA, vocab, width, (int) file.requireInteger("llama.block_count"), heads,
                    kvHeads, (int) file.requireInteger("llama.feed_forward_length"),
                    (int) file.requireInteger("llama.context_length"), eps,
                    theta instanceof Number n ? n.doubleValue() : 10000.0, !file.tensors().containsKey("output.weight"));
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException("GGUF metadata describes an impossible model: " + e.getMessage(), e);
        }
    }

    /**
     * Refuses a tensor the engine would not compute with, e.g. rope_freqs.weight (Llama 3 rope scaling) or
     * attention biases: loading without them would be another model.
     */
    static void checkTensorNames(java.util.Collection<String> names) {
        for (String name : names) {
            if (!KNOWN_TENSOR.matcher(name).matches()) {
                throw new CheckpointFormatException("GGUF tensor " + name + " is not one the engine computes with; "
                        + "refusing to load rather than ignore it");
            }
        }
    }

    /** The flat parameters (engine layout) of {@code config} from the file's tensors. */
    public static float[] parameters(GgufFile file, ModelConfig config) throws IOException {
        ParameterStore store = new ParameterStore(ParameterLayout.of(config), DataType.FLOAT);
        int d = config.headSize();
        int q = config.heads() * d;
        int kv = config.kvHeads() * d;
        int f = config.ffnHidden();
        int c = config.width();
        store.tensor("embed").assign(tensor(file, "token_embd.weight", config.vocabSize(), c));
        for (int i = 0; i < config.layers(); i++) {
            String g = "blk." + i + ".";
            String e = "layers." + i + ".";
            store.tensor(e + "attn_norm").assign(tensor(file, g + "attn_norm.weight", c));
            INDArray wqkv = store.tensor(e + "wqkv");
            columns(wqkv, 0, q).assign(tensor(file, g + "attn_q.weight", q, c).transpose());
            columns(wqkv, q, q + kv).assign(tensor(file, g + "attn_k.weight", kv, c).transpose());
            columns(wqkv, q + kv, q + 2 * kv).assign(tensor(file, g + "attn_v.weight", kv, c).transpose());
            store.tensor(e + "wo").assign(tensor(file, g + "attn_output.weight", c, q).transpose());
            store.tensor(e + "ffn_norm").assign(tensor(file, g + "ffn_norm.weight", c));
            INDArray gateUp = store.tensor(e + "w_gate_up");
            columns(gateUp, 0, f).assign(tensor(file, g + "ffn_gate.weight", f, c).transpose());
            columns(gateUp, f, 2 * f).assign(tensor(file, g + "ffn_up.weight", f, c).transpose());
            store.tensor(e + "w_down").assign(tensor(file, g + "ffn_down.weight", c, f).transpose());
        }
        store.tensor("norm").assign(tensor(file, "output_norm.weight", c));
        if (!config.tiedEmbeddings()) {
            store.tensor("lm_head").assign(tensor(file, "output.weight", config.vocabSize(), c));
        }
        return TrainingState.toFloats(store.params());
    }

    private static INDArray tensor(GgufFile file, String name, long... shape) throws IOException {
        GgufFile.TensorInfo info = file.tensors().get(name);
        if (info == null) {
            throw new CheckpointFormatException("GGUF file has no tensor " + name);
        }
        if (!Arrays.equals(info.shape(), shape)) {
            throw new CheckpointFormatException("GGUF tensor " + name + " has shape " + Arrays.toString(info.shape())
                    + ", the metadata implies " + Arrays.toString(shape));
        }
        return Nd4j.createFromArray(file.floats(name)).reshape(shape);
    }

    private static INDArray columns(INDArray matrix, long from, long to) {
        return matrix.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to));
    }
}
