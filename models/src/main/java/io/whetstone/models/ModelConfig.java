package io.whetstone.models;

/**
 * The shape of a decoder-only transformer of either family, and its {@link Variant} (architecture and
 * optional features: head size, biases, q/k norms, rope scaling).
 *
 * <p>Symbols used in shape comments throughout the engine: V vocabulary, C width, L layers,
 * H query heads, K key/value heads, G = H/K query heads per key/value head, D head size (C/H unless head_dim is set),
 * F feed-forward hidden size, B batch, T sequence length, N = B*T rows.
 *
 * @param family architecture family
 * @param vocabSize V
 * @param width C, the residual stream width
 * @param layers L
 * @param heads H, query heads
 * @param kvHeads K, key/value heads (equal to H for GPT-2; fewer for grouped-query attention)
 * @param ffnHidden F, hidden size of the MLP (4C for GPT-2)
 * @param maxSeqLen longest sequence the model accepts (size of the learned position table for GPT-2)
 * @param normEps epsilon of LayerNorm / RMSNorm
 * @param ropeTheta base of the rotary frequencies (Llama only)
 * @param tiedEmbeddings whether the LM head reuses the token embedding
 * @param variant the architecture and its optional features
 */
public record ModelConfig(
        Family family,
        int vocabSize,
        int width,
        int layers,
        int heads,
        int kvHeads,
        int ffnHidden,
        int maxSeqLen,
        double normEps,
        double ropeTheta,
        boolean tiedEmbeddings,
        Variant variant) implements java.io.Serializable {

    public ModelConfig {
        require(family != null, "family must be set");
        require(variant != null, "variant must be set");
        require(variant.architecture().family() == family,
                "architecture " + variant.architecture() + " is not of the " + family.id() + " family");
        require(vocabSize > 0, "vocab_size must be > 0: " + vocabSize);
        require(width > 0, "width must be > 0: " + width);
        require(layers > 0, "layers must be > 0: " + layers);
        require(heads > 0 && (variant.headDim() > 0 || width % heads == 0),
                "width " + width + " must be divisible by heads " + heads + " (or head_dim set)");
        require(family == Family.LLAMA || variant.headDim() == 0, "gpt2 has no head_dim");
        require(kvHeads > 0 && heads % kvHeads == 0, "heads " + heads + " must be divisible by kv_heads " + kvHeads);
        require(ffnHidden > 0, "ffn_hidden must be > 0: " + ffnHidden);
        require(maxSeqLen > 0, "max_seq_len must be > 0: " + maxSeqLen);
        require(normEps > 0 && normEps < 1, "norm_eps must be in (0, 1): " + normEps);
        int headSize = variant.headDim() > 0 ? variant.headDim() : width / heads;
        require(family == Family.GPT2 || headSize % 2 == 0,
                "rotary embedding needs an even head size, got " + headSize);
        require(family == Family.LLAMA || kvHeads == heads, "gpt2 needs kv_heads == heads, got " + kvHeads);
        require(family == Family.LLAMA || tiedEmbeddings, "gpt2 ties its LM head to the token embedding");
        require(ropeTheta > 0, "rope_theta must be > 0: " + ropeTheta);
        require(variant.slidingWindow() == 0 || maxSeqLen <= variant.slidingWindow(),
                "max_seq_len " + maxSeqLen + " is beyond the sliding window " + variant.slidingWindow()
                        + " (sliding-window attention is not implemented; within the window it equals full attention)");
    }

    /** A plain model of {@code family} (no {@link Variant} features). */
    public ModelConfig(Family family, int vocabSize, int width, int layers, int heads, int kvHeads, int ffnHidden,
                       int maxSeqLen, double normEps, double ropeTheta, boolean tiedEmbeddings) {
        this(family, vocabSize, width, layers, heads, kvHeads, ffnHidden, maxSeqLen, normEps, ropeTheta,
                tiedEmbeddings, Variant.of(family));
    }

    /** This shape with {@code value} as its variant. */
    public ModelConfig withVariant(Variant value) {
        return new ModelConfig(family, vocabSize, width, layers, heads, kvHeads, ffnHidden, maxSeqLen, normEps,
                ropeTheta, tiedEmbeddings, value);
    }

    /** This shape with the LM head tied to the embedding or not. */
    public ModelConfig withTiedEmbeddings(boolean value) {
        return new ModelConfig(family, vocabSize, width, layers, heads, kvHeads, ffnHidden, maxSeqLen, normEps,
                ropeTheta, value, variant);
    }

    /** The architecture ({@code model_type}). */
    public Architecture architecture() {
        return variant.architecture();
    }

    /** A GPT-2 shape: MLP 4C, LayerNorm eps 1e-5, tied head. */
    public static ModelConfig gpt2(int vocabSize, int width, int layers, int heads, int maxSeqLen) {
        return new ModelConfig(Family.GPT2, vocabSize, width, layers, heads, heads, 4 * width, maxSeqLen,
                1e-5, 10000.0, true);
    }

    /** A Llama shape: SwiGLU hidden {@code ffnHidden}, RMSNorm eps 1e-5, untied head. */
    public static ModelConfig llama(int vocabSize, int width, int layers, int heads, int kvHeads, int ffnHidden,
                                    int maxSeqLen) {
        return new ModelConfig(Family.LLAMA, vocabSize, width, layers, heads, kvHeads, ffnHidden, maxSeqLen,
                1e-5, 10000.0, false);
    }

    /** D, the size of one attention head: head_dim where set, else C/H. */
    public int headSize() {
        return variant.headDim() > 0 ? variant.headDim() : width / heads;
    }

    /** G, query heads that share one key/value head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** Width of the fused query/key/value projection: (H + 2K) * D. */
    public int qkvWidth() {
        return (heads + 2 * kvHeads) * headSize();
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}
