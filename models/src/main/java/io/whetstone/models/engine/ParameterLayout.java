package io.whetstone.models.engine;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.TensorSpec.Init;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where every tensor of a model lives in the flat parameter vector. Tensors with weight decay come
 * first, so decay is one contiguous range [0, {@link #decayedLength()}).
 *
 * <p>GPT-2 tensors carry their Hugging Face names and shapes (Conv1D weights are [in, out]). Llama
 * tensors use a fused layout: {@code layers.N.wqkv} [C, (H+2K)D] holds the q, k and v projections side
 * by side, and {@code layers.N.w_gate_up} [C, 2F] the gate and up projections, so each is one GEMM.
 * Optional tensors of a {@link io.whetstone.models.Variant}: {@code bqkv} [(H+2K)D], {@code bo} [C],
 * {@code q_norm} and {@code k_norm} [D] (in the engine's rotary pair order, like the q and k rows).
 */
public final class ParameterLayout {

    private final List<TensorSpec> tensors;
    private final Map<String, Long> offsets;
    private final long decayedLength;
    private final long length;

    private ParameterLayout(List<TensorSpec> specs) {
        List<TensorSpec> ordered = new ArrayList<>();
        specs.stream().filter(TensorSpec::decay).forEach(ordered::add);
        specs.stream().filter(spec -> !spec.decay()).forEach(ordered::add);
        Map<String, Long> positions = new LinkedHashMap<>();
        long offset = 0;
        long decayed = 0;
        for (TensorSpec spec : ordered) {
            if (positions.put(spec.name(), offset) != null) {
                throw new IllegalArgumentException("duplicate tensor " + spec.name());
            }
            offset += spec.length();
            if (spec.decay()) {
                decayed = offset;
            }
        }
        this.tensors = Collections.unmodifiableList(ordered);
        this.offsets = Collections.unmodifiableMap(positions);
        this.decayedLength = decayed;
        this.length = offset;
    }

    /** A layout of arbitrary tensors (adapters, tests). */
    public static ParameterLayout of(List<TensorSpec> specs) {
        return new ParameterLayout(specs);
    }

    /**
     * The tensors of {@code first}, then those of {@code second}, decayed tensors of both first as always; where
     * {@code second} has no decayed tensors (a value head), the flat vector is {@code first}'s followed by
     * {@code second}'s.
     */
    public static ParameterLayout concat(ParameterLayout first, ParameterLayout second) {
        List<TensorSpec> specs = new ArrayList<>(first.tensors());
        specs.addAll(second.tensors());
        return new ParameterLayout(specs);
    }

    /** The layout of {@code config}'s family. */
    public static ParameterLayout of(ModelConfig config) {
        return new ParameterLayout(config.family() == Family.GPT2 ? gpt2(config) : llama(config));
    }

    private static List<TensorSpec> gpt2(ModelConfig c) {
        int width = c.width();
        double std = 0.02;
        double residualStd = 0.02 / Math.sqrt(2.0 * c.layers()); // GPT-2's scaled init of residual projections
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("wte.weight", shape(c.vocabSize(), width), true, Init.NORMAL, std));
        specs.add(new TensorSpec("wpe.weight", shape(c.maxSeqLen(), width), true, Init.NORMAL, 0.01));
        for (int i = 0; i < c.layers(); i++) {
            String p = "h." + i + ".";
            specs.add(new TensorSpec(p + "ln_1.weight", shape(width), false, Init.ONES, 0));
            specs.add(new TensorSpec(p + "ln_1.bias", shape(width), false, Init.ZEROS, 0));
            specs.add(new TensorSpec(p + "attn.c_attn.weight", shape(width, 3L * width), true, Init.NORMAL, std));
            specs.add(new TensorSpec(p + "attn.c_attn.bias", shape(3L * width), false, Init.ZEROS, 0));
            specs.add(new TensorSpec(p + "attn.c_proj.weight", shape(width, width), true, Init.NORMAL, residualStd));
            specs.add(new TensorSpec(p + "attn.c_proj.bias", shape(width), false, Init.ZEROS, 0));
            specs.add(new TensorSpec(p + "ln_2.weight", shape(width), false, Init.ONES, 0));
            specs.add(new TensorSpec(p + "ln_2.bias", shape(width), false, Init.ZEROS, 0));
            specs.add(new TensorSpec(p + "mlp.c_fc.weight", shape(width, c.ffnHidden()), true, Init.NORMAL, std));
            specs.add(new TensorSpec(p + "mlp.c_fc.bias", shape(c.ffnHidden()), false, Init.ZEROS, 0));
            specs.add(new TensorSpec(p + "mlp.c_proj.weight", shape(c.ffnHidden(), width), true, Init.NORMAL,
                    residualStd));
            specs.add(new TensorSpec(p + "mlp.c_proj.bias", shape(width), false, Init.ZEROS, 0));
        }
        specs.add(new TensorSpec("ln_f.weight", shape(width), false, Init.ONES, 0));
        specs.add(new TensorSpec("ln_f.bias", shape(width), false, Init.ZEROS, 0));
        return specs;
    }

    private static List<TensorSpec> llama(ModelConfig c) {
        int width = c.width();
        double std = 0.02;
        double residualStd = 0.02 / Math.sqrt(2.0 * c.layers());
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("embed", shape(c.vocabSize(), width), true, Init.NORMAL, std));
        for (int i = 0; i < c.layers(); i++) {
            String p = "layers." + i + ".";
            specs.add(new TensorSpec(p + "attn_norm", shape(width), false, Init.ONES, 0));
            specs.add(new TensorSpec(p + "wqkv", shape(width, c.qkvWidth()), true, Init.NORMAL, std));
            if (c.variant().qkvBias()) {
                specs.add(new TensorSpec(p + "bqkv", shape(c.qkvWidth()), false, Init.ZEROS, 0));
            }
            if (c.variant().qkNorm()) {
                specs.add(new TensorSpec(p + "q_norm", shape(c.headSize()), false, Init.ONES, 0));
                specs.add(new TensorSpec(p + "k_norm", shape(c.headSize()), false, Init.ONES, 0));
            }
            specs.add(new TensorSpec(p + "wo", shape((long) c.heads() * c.headSize(), width), true, Init.NORMAL,
                    residualStd));
            if (c.variant().outputBias()) {
                specs.add(new TensorSpec(p + "bo", shape(width), false, Init.ZEROS, 0));
            }
            specs.add(new TensorSpec(p + "ffn_norm", shape(width), false, Init.ONES, 0));
            specs.add(new TensorSpec(p + "w_gate_up", shape(width, 2L * c.ffnHidden()), true, Init.NORMAL, std));
            specs.add(new TensorSpec(p + "w_down", shape(c.ffnHidden(), width), true, Init.NORMAL, residualStd));
        }
        specs.add(new TensorSpec("norm", shape(width), false, Init.ONES, 0));
        if (!c.tiedEmbeddings()) {
            specs.add(new TensorSpec("lm_head", shape(c.vocabSize(), width), true, Init.NORMAL, std));
        }
        return specs;
    }

    private static long[] shape(long... dimensions) {
        return dimensions;
    }

    /** Tensors in storage order (decayed first). */
    public List<TensorSpec> tensors() {
        return tensors;
    }

    /** Offset of tensor {@code name} in the flat vector. */
    public long offset(String name) {
        Long offset = offsets.get(name);
        if (offset == null) {
            throw new IllegalArgumentException("no tensor named " + name);
        }
        return offset;
    }

    /** The spec of tensor {@code name}. */
    public TensorSpec spec(String name) {
        offset(name);
        return tensors.stream().filter(spec -> spec.name().equals(name)).findFirst().orElseThrow();
    }

    /** Whether a tensor of this name exists. */
    public boolean has(String name) {
        return offsets.containsKey(name);
    }

    /** Length of the decayed prefix of the flat vector. */
    public long decayedLength() {
        return decayedLength;
    }

    /** P, the number of parameters. */
    public long length() {
        return length;
    }
}
