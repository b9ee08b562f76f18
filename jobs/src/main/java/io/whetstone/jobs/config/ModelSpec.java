package io.whetstone.jobs.config;

import java.util.Set;

/**
 * The model to train. {@code init} is {@code scratch} (shape from the keys below), a {@code .gguf} file
 * (llama architecture) or a Hugging Face / whetstone model directory ({@code config.json} +
 * safetensors); a pretrained model brings its own shape and tokenizer. A
 * {@code max_seq_len} of 0 means data.seq_len. {@code kernels}: auto, fused_cpu, nd4j. {@code frozenDtype}: how
 * frozen weight matrices are kept in memory (a LoRA base, a distillation teacher, a DPO reference): float32,
 * or bfloat16 / float16 for half the bytes, computing in fp32 all the same.
 */
public record ModelSpec(String init, String family, int width, int layers, int heads, int kvHeads, int ffnHidden,
                        int maxSeqLen, String kernels, String frozenDtype) {

    /** With frozen weights kept in float32. */
    public ModelSpec(String init, String family, int width, int layers, int heads, int kvHeads, int ffnHidden,
                     int maxSeqLen, String kernels) {
        this(init, family, width, layers, heads, kvHeads, ffnHidden, maxSeqLen, kernels, "float32");
    }

    public ModelSpec {
        frozenDtype = Checks.oneOf("model.frozen_dtype", frozenDtype == null ? "float32" : frozenDtype,
                Set.of("float32", "bfloat16", "float16"));
        Checks.require(init != null && !init.isBlank(), "model.init must be 'scratch', a .gguf file or a model directory");
        family = Checks.oneOf("model.family", family, Set.of("gpt2", "llama"));
        kernels = Checks.oneOf("model.kernels", kernels, Set.of("auto", "fused_cpu", "nd4j"));
        Checks.require(width > 0 && layers > 0 && heads > 0 && kvHeads > 0 && ffnHidden > 0,
                "model.width, layers, heads, kv_heads and ffn_hidden must be > 0");
        Checks.require(maxSeqLen >= 0, "model.max_seq_len must be >= 0 (0: data.seq_len), got " + maxSeqLen);
    }

    /** The ND4J type frozen weight matrices are kept in. */
    public org.nd4j.linalg.api.buffer.DataType frozenStorage() {
        return io.whetstone.models.engine.FrozenDtype.parse(frozenDtype);
    }

    public boolean fromScratch() {
        return init.equals("scratch");
    }
}
