package io.whetstone.models;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The Hugging Face {@code model_type}s the engine computes exactly. All but GPT-2 are the Llama family
 * (RMSNorm, rotary positions, gated MLP, grouped-query attention); their differences are data in
 * {@link Variant} (biases, q/k norms, head size, rope scaling) plus what is fixed per type here.
 */
public enum Architecture {
    GPT2("gpt2", "GPT2LMHeadModel"),
    LLAMA("llama", "LlamaForCausalLM"),
    QWEN2("qwen2", "Qwen2ForCausalLM"),
    QWEN3("qwen3", "Qwen3ForCausalLM"),
    MISTRAL("mistral", "MistralForCausalLM"),
    /** Stores q/k/v and gate/up as fused {@code qkv_proj} and {@code gate_up_proj} (the engine's own layout). */
    PHI3("phi3", "Phi3ForCausalLM"),
    /** Embedding times sqrt(C), GeGLU with tanh GELU, RMSNorm weights stored as w with 1 + w applied. */
    GEMMA("gemma", "GemmaForCausalLM");

    private final String modelType;
    private final String hfClass;

    Architecture(String modelType, String hfClass) {
        this.modelType = modelType;
        this.hfClass = hfClass;
    }

    /** The {@code model_type} of config.json. */
    public String modelType() {
        return modelType;
    }

    /** The class named in config.json's {@code architectures}. */
    public String hfClass() {
        return hfClass;
    }

    public Family family() {
        return this == GPT2 ? Family.GPT2 : Family.LLAMA;
    }

    /** Gemma scales the token embedding by sqrt(width) on the way in (not the tied LM head). */
    public boolean scalesEmbedding() {
        return this == GEMMA;
    }

    /** Gemma's MLP gates with tanh-approximated GELU instead of SiLU. */
    public boolean gelu() {
        return this == GEMMA;
    }

    /** Gemma stores RMSNorm weights as w and applies 1 + w; the engine keeps 1 + w. */
    public boolean normWeightsOffsetByOne() {
        return this == GEMMA;
    }

    /** The architecture of a {@code model_type}, or null when the engine has none. */
    public static Architecture ofModelType(String modelType) {
        for (Architecture architecture : values()) {
            if (architecture.modelType.equals(modelType)) {
                return architecture;
            }
        }
        return null;
    }

    /** The supported model types, comma-separated, for messages. */
    public static String supported() {
        return Arrays.stream(values()).map(Architecture::modelType).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return modelType.toLowerCase(Locale.ROOT);
    }
}
