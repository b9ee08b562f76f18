package io.whetstone.models;

/**
 * What a model of the Llama family adds to plain Llama, all read from its config.json: the architecture
 * (fixing what is per type: Gemma's embedding scale, GELU gate and 1 + w norms), a head size independent of
 * the width, attention biases, per-head q/k RMSNorm, rope scaling, and a sliding attention window.
 *
 * @param architecture the Hugging Face model type
 * @param headDim D when set independently of the width (Qwen3, Gemma, Mistral Nemo); 0 means width / heads
 * @param qkvBias q, k and v projections carry biases (Qwen2; Llama's attention_bias)
 * @param outputBias the attention output projection carries a bias (Llama's attention_bias)
 * @param qkNorm RMSNorm over each head's q and k before the rotation (Qwen3)
 * @param ropeScaling the rotary frequencies' scaling, {@link RopeScaling#NONE} for none
 * @param slidingWindow the model's attention window (0 for none); the context is capped at it, where a
 *     sliding window and full attention agree
 */
public record Variant(Architecture architecture, int headDim, boolean qkvBias, boolean outputBias, boolean qkNorm,
                      RopeScaling ropeScaling, int slidingWindow) implements java.io.Serializable {

    public Variant {
        if (architecture == null || ropeScaling == null) {
            throw new IllegalArgumentException("architecture and rope scaling must be set");
        }
        if (headDim < 0 || slidingWindow < 0) {
            throw new IllegalArgumentException("head_dim and sliding_window must be >= 0");
        }
        if (qkNorm && qkvBias) {
            throw new IllegalArgumentException("attention biases together with q/k norms are not implemented");
        }
    }

    /** Plain GPT-2 or plain Llama. */
    public static Variant of(Family family) {
        return plain(family == Family.GPT2 ? Architecture.GPT2 : Architecture.LLAMA);
    }

    /** {@code architecture} with nothing optional switched on. */
    public static Variant plain(Architecture architecture) {
        return new Variant(architecture, 0, false, false, false, RopeScaling.NONE, 0);
    }

    public Variant withHeadDim(int value) {
        return new Variant(architecture, value, qkvBias, outputBias, qkNorm, ropeScaling, slidingWindow);
    }

    public Variant withBiases(boolean qkv, boolean output) {
        return new Variant(architecture, headDim, qkv, output, qkNorm, ropeScaling, slidingWindow);
    }

    public Variant withQkNorm(boolean value) {
        return new Variant(architecture, headDim, qkvBias, outputBias, value, ropeScaling, slidingWindow);
    }

    public Variant withRopeScaling(RopeScaling value) {
        return new Variant(architecture, headDim, qkvBias, outputBias, qkNorm, value, slidingWindow);
    }

    public Variant withSlidingWindow(int value) {
        return new Variant(architecture, headDim, qkvBias, outputBias, qkNorm, ropeScaling, value);
    }
}
