package io.whetstone.models.lora;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.CheckpointFormatException;
import io.whetstone.models.checkpoint.HfFormat;
import io.whetstone.models.checkpoint.Tensor;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.train.TrainingState;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Adapters in and out: merged into the base weights (W[:, block] += s A B), and in PEFT's layout
 * ({@code adapter_config.json} + {@code adapter_model.safetensors}: {@code <module>.lora_A.weight} [r, in]
 * and {@code <module>.lora_B.weight} [out, r]). For Llama's q and k the rows of lora_B are permuted into
 * Hugging Face's rotate_half layout, exactly as the base q/k rows are on export.
 */
public final class LoraWeights {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LoraWeights() {
    }

    /** Base parameters with the adapters merged in (flat, engine layout). */
    public static float[] merge(ModelConfig config, float[] base, LoraLayout lora, float[] adapters) {
        ParameterStore merged = new ParameterStore(ParameterLayout.of(config), DataType.FLOAT);
        TrainingState.copyInto(base, merged.params());
        ParameterStore adapterStore = new ParameterStore(lora.layout(), DataType.FLOAT);
        TrainingState.copyInto(adapters, adapterStore.params());
        for (LoraSite site : lora.sites()) {
            INDArray delta = adapterStore.tensor(site.aName()).mmul(adapterStore.tensor(site.bName()))
                    .muli(lora.config().scale());
            merged.tensor(site.weight()).get(NDArrayIndex.all(),
                    NDArrayIndex.interval(site.from(), site.from() + site.width())).addi(delta);
        }
        return TrainingState.toFloats(merged.params());
    }

    /** The adapters as PEFT tensors. */
    public static Map<String, Tensor> toPeft(ModelConfig config, LoraLayout lora, float[] adapters) {
        ParameterStore store = new ParameterStore(lora.layout(), DataType.FLOAT);
        TrainingState.copyInto(adapters, store.params());
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (LoraSite site : lora.sites()) {
            INDArray loraA = store.tensor(site.aName()).transpose(); // [r, in]
            INDArray loraB = store.tensor(site.bName()).transpose(); // [width, r]
            if (site.ropeHeads() > 0) {
                loraB = permuteRopeRows(loraB, site.ropeHeads(), config.headSize(), true);
            }
            out.put(site.peftPath() + ".lora_A.weight", tensor(loraA));
            out.put(site.peftPath() + ".lora_B.weight", tensor(loraB));
        }
        return out;
    }

    /** Adapters (flat) from PEFT tensors; every site must be present with the right shapes. */
    public static float[] fromPeft(ModelConfig config, LoraLayout lora, Map<String, Tensor> tensors, String file) {
        ParameterStore store = new ParameterStore(lora.layout(), DataType.FLOAT);
        int rank = lora.config().rank();
        for (LoraSite site : lora.sites()) {
            INDArray loraA = read(tensors, site.peftPath() + ".lora_A.weight", file, rank, site.in());
            INDArray loraB = read(tensors, site.peftPath() + ".lora_B.weight", file, site.width(), rank);
            if (site.ropeHeads() > 0) {
                loraB = permuteRopeRows(loraB, site.ropeHeads(), config.headSize(), false);
            }
            store.tensor(site.aName()).assign(loraA.transpose());
            store.tensor(site.bName()).assign(loraB.transpose());
        }
        return TrainingState.toFloats(store.params());
    }

    /** rows [width, r] with its first {@code heads} heads' rows permuted to (or from) HF's rotary layout. */
    private static INDArray permuteRopeRows(INDArray rows, int heads, int headSize, boolean toHf) {
        long roped = (long) heads * headSize;
        INDArray head = rows.get(NDArrayIndex.interval(0, roped), NDArrayIndex.all());
        INDArray permuted = toHf ? HfFormat.toHfRope(head, heads, headSize) : HfFormat.fromHfRope(head, heads, headSize);
        if (roped == rows.size(0)) {
            return permuted;
        }
        return Nd4j.vstack(permuted, rows.get(NDArrayIndex.interval(roped, rows.size(0)), NDArrayIndex.all()).dup());
    }

    /** PEFT's {@code adapter_config.json}. */
    public static ObjectNode adapterConfig(ModelConfig config, LoraConfig lora, String baseModel) {
        ObjectNode root = JSON.createObjectNode();
        root.put("peft_type", "LORA");
        root.put("task_type", "CAUSAL_LM");
        root.put("base_model_name_or_path", baseModel);
        root.put("r", lora.rank());
        root.put("lora_alpha", lora.alpha());
        root.put("lora_dropout", lora.dropout());
        var targets = root.putArray("target_modules");
        lora.targets().forEach(targets::add);
        root.put("bias", "none");
        root.put("fan_in_fan_out", config.family() == Family.GPT2); // GPT-2's Conv1D stores weights [in, out]
        root.put("inference_mode", true);
        root.put("init_lora_weights", true);
        return root;
    }

    private static INDArray read(Map<String, Tensor> tensors, String name, String file, long rows, long cols) {
        Tensor tensor = tensors.get(name);
        if (tensor == null) {
            throw new CheckpointFormatException(file + ": missing adapter tensor " + name);
        }
        long[] shape = tensor.shape();
        if (shape.length != 2 || shape[0] != rows || shape[1] != cols) {
            throw new CheckpointFormatException(file + ": adapter tensor " + name + " has shape "
                    + java.util.Arrays.toString(shape) + ", expected [" + rows + ", " + cols + "]");
        }
        return Nd4j.createFromArray(tensor.values()).reshape(rows, cols);
    }

    private static Tensor tensor(INDArray array) {
        INDArray dense = array.castTo(DataType.FLOAT).dup('c');
        return new Tensor(dense.shape(), dense.data().asFloat());
    }
}
