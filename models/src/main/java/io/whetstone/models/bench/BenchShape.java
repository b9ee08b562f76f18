package io.whetstone.models.bench;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import java.util.Locale;

/**
 * The benchmark's model sizes (V vocab, C width, L layers, H heads, T sequence, B batch). The Llama
 * variant of a size keeps V, C, L, H, T, B, uses full multi-head attention (K = H) and a SwiGLU hidden
 * size of 8C/3 rounded up to a multiple of 32, so its MLP has about GPT-2's 8C^2 weights.
 */
public enum BenchShape {
    A(512, 128, 4, 4, 128, 8),
    B(8192, 384, 6, 6, 256, 8),
    C(50304, 768, 12, 12, 128, 4);

    public final int vocab;
    public final int width;
    public final int layers;
    public final int heads;
    public final int seqLen;
    public final int batch;

    BenchShape(int vocab, int width, int layers, int heads, int seqLen, int batch) {
        this.vocab = vocab;
        this.width = width;
        this.layers = layers;
        this.heads = heads;
        this.seqLen = seqLen;
        this.batch = batch;
    }

    public static BenchShape parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown bench config '" + name + "' (expected A, B or C)");
        }
    }

    /** SwiGLU hidden size with about the parameters of a 4C GELU MLP. */
    public int llamaHidden() {
        return (8 * width / 3 + 31) / 32 * 32;
    }

    public ModelConfig model(Family family) {
        return family == Family.GPT2
                ? ModelConfig.gpt2(vocab, width, layers, heads, seqLen)
                : ModelConfig.llama(vocab, width, layers, heads, heads, llamaHidden(), seqLen);
    }
}
