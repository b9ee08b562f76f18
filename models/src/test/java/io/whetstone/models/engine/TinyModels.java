package io.whetstone.models.engine;

import io.whetstone.models.Architecture;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.RopeScaling;
import io.whetstone.models.Variant;
import java.util.Random;

/** Tiny shapes and random batches for engine tests. */
public final class TinyModels {

    private TinyModels() {
    }

    /** GPT-2: V 11, C 8, L 2, H 2, Tmax 6. */
    public static ModelConfig gpt2() {
        return ModelConfig.gpt2(11, 8, 2, 2, 6);
    }

    /** Llama with grouped queries: V 11, C 8, L 2, H 4, K 2 (D 2), F 12, Tmax 6. */
    public static ModelConfig llama() {
        return ModelConfig.llama(11, 8, 2, 4, 2, 12, 6);
    }

    /** Qwen2: Llama with q/k/v biases, tied head. */
    public static ModelConfig qwen2() {
        return llama().withVariant(Variant.plain(Architecture.QWEN2).withBiases(true, false)).withTiedEmbeddings(true);
    }

    /** Llama with attention_bias (q/k/v and output biases) and Llama 3 rope scaling. */
    public static ModelConfig llamaWithBiases() {
        return llama().withVariant(Variant.plain(Architecture.LLAMA).withBiases(true, true)
                .withRopeScaling(RopeScaling.llama3(8, 1, 4, 4)));
    }

    /** Qwen3: per-head q/k RMSNorm, head size 6 independent of the width (C 8, H 4). */
    public static ModelConfig qwen3() {
        return llama().withVariant(Variant.plain(Architecture.QWEN3).withQkNorm(true).withHeadDim(6));
    }

    /** Phi-3: Llama computed the same way, stored with fused qkv_proj and gate_up_proj. */
    public static ModelConfig phi3() {
        return llama().withVariant(Variant.plain(Architecture.PHI3));
    }

    /** Gemma: embedding scaled by sqrt(C), GeGLU, head size 6 (H*D = 24 != C), tied head. */
    public static ModelConfig gemma() {
        return llama().withVariant(Variant.plain(Architecture.GEMMA).withHeadDim(6)).withTiedEmbeddings(true);
    }

    /** A random batch with next-token targets, some positions without a target, and a random mask. */
    public static TokenBatch batch(ModelConfig config, int batch, int seqLen, long seed) {
        Random random = new Random(seed);
        int n = batch * seqLen;
        int[] tokens = new int[n];
        int[] targets = new int[n];
        float[] mask = new float[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = random.nextInt(config.vocabSize());
        }
        for (int i = 0; i < n; i++) {
            boolean last = (i + 1) % seqLen == 0;
            targets[i] = last ? -1 : tokens[i + 1];
            mask[i] = targets[i] >= 0 && random.nextDouble() < 0.7 ? 1f : 0f;
        }
        if (mask[0] == 0 && targets[0] >= 0) {
            mask[0] = 1f; // at least one counted token
        }
        return new TokenBatch(tokens, targets, mask, batch, seqLen);
    }
}
