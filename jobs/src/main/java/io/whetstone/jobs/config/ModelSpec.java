package io.whetstone.jobs.config;

import java.util.Set;

/**
 * The model to train. {@code init} is {@code scratch} (shape from the keys below), a {@code .gguf} file
 * (llama architecture) or a Hugging Face / whetstone model directory ({@code config.json} +
 * safetensors); a pretrained model brings its own shape and tokenizer. A
 * {@code max_seq_len} of 0 means data.seq_len. {@code kernels}: auto, fused_cpu, nd4j.
 */
public record ModelSpec(String init, String family, int width, int layers, int heads, int kvHeads, int ffnHidden,
                        int maxSeqLen, String kernels) {

    public ModelSpec {
        Checks.require(init != null && !init.isBlank(), "model.init must be 'scratch', a .gguf file or a model directory");
        family = Checks.oneOf("model.family", family, Set.of("gpt2", "llama"));
        kernels = Checks.oneOf("model.kernels", kernels, Set.of("auto", "fused_cpu", "nd4j"));
        Checks.require(width > 0 && layers > 0 && heads > 0 && kvHeads > 0 && ffnHidden > 0,
                "model.width, layers, heads, kv_heads and ffn_hidden must be > 0");
        Checks.require(maxSeqLen >= 0, "model.max_seq_len must be >= 0 (0: data.seq_len), got " + maxSeqLen);
    }

    public boolean fromScratch() {
        return init.equals("scratch");
    }
}
