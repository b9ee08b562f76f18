package io.whetstone.models.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The elementwise and data-movement steps of the transformer, forward and backward. GEMMs are not
 * here: the engine calls ND4J for them on every backend. Three implementations share this contract:
 * {@link ReferenceKernels} (plain loops in double, the ground truth for tests), {@link FusedCpuKernels}
 * (one vectorised pass per step over ND4J's host memory, fp32, the fast path on CPU) and
 * {@link Nd4jKernels} (ND4J ops only, so the same model runs where memory is not host memory, e.g. CUDA).
 *
 * <p>Every array is a contiguous row-major ND4J array (a view of a larger buffer is fine). Shapes are
 * given in the symbols of {@link io.whetstone.models.ModelConfig}. Arguments marked "+=" are
 * accumulated into; the others are overwritten.
 */
public interface Kernels {

    /** out[n] = table[tokens[n]] (+ positions[n mod T]). out [N, C], table [V, C], positions [Tmax, C] or null. */
    void embed(int[] tokens, INDArray table, INDArray positions, int seqLen, INDArray out);

    /** dTable[tokens[n]] += dOut[n]; dPositions[n mod T] += dOut[n] when dPositions is not null. */
    void embedBackward(int[] tokens, INDArray dOut, INDArray dTable, INDArray dPositions, int seqLen);

    /** LayerNorm over rows of x [N, C]: out = (x - mean) * rstd * gamma + beta; saves mean [N], rstd [N]. */
    void layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, INDArray out, INDArray mean,
                   INDArray rstd);

    /** LayerNorm backward: dx +=, dGamma +=, dBeta +=. */
    void layerNormBackward(INDArray dOut, INDArray x, INDArray gamma, INDArray mean, INDArray rstd,
                           INDArray dx, INDArray dGamma, INDArray dBeta);

    /** RMSNorm over rows of x [N, C]: out = x * rstd * weight, rstd = 1/sqrt(mean(x^2) + eps); saves rstd [N]. */
    void rmsNorm(INDArray x, INDArray weight, double eps, INDArray out, INDArray rstd);

    /** RMSNorm backward: dx +=, dWeight +=. */
    void rmsNormBackward(INDArray dOut, INDArray x, INDArray weight, INDArray rstd, INDArray dx, INDArray dWeight);

    /**
     * In place preact += bias (bias [F] may be null), then out = gelu(preact) with GPT-2's tanh form
     * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). preact, out [N, F].
     */
    void biasGelu(INDArray preact, INDArray bias, INDArray out);

    /**
     * Training's GELU: out = gelu(preact + bias) as {@link #biasGelu}, and preact [N, F] is overwritten with the
     * derivative gelu'(preact + bias), which {@link #geluBackward} reads. The backward pass then multiplies rather
     * than recomputing the activation, and reads one array fewer than it would with the bias gradient apart.
     */
    void biasGeluWithDerivative(INDArray preact, INDArray bias, INDArray out);

    /**
     * dPreact = dOut * derivative, the derivative [N, F] left by {@link #biasGeluWithDerivative}; and dBias [F] +=
     * the column sums of dPreact when dBias is not null. dPreact may be the same array as dOut.
     */
    void geluBackward(INDArray dOut, INDArray derivative, INDArray dPreact, INDArray dBias);

    /** out = silu(gate) * up, where gateUp [N, 2F] holds gate in columns [0, F) and up in [F, 2F). out [N, F]. */
    void swiglu(INDArray gateUp, INDArray out);

    /** dGateUp [N, 2F] from dOut [N, F]. */
    void swigluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp);

    /** out [N, F] = gelu_tanh(gate) * up, gateUp [N, 2F] = [gate | up] (Gemma's GeGLU). */
    void geglu(INDArray gateUp, INDArray out);

    /** dGateUp [N, 2F] from dOut [N, F] through {@link #geglu}. */
    void gegluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp);

    /**
     * Splits qkv [N, (H+2K)D] (columns: H query heads, K key heads, K value heads) into
     * q [B, K, G, T, D] (query head h = k*G + g), k [B, K, T, D] and v [B, K, T, D], adding bias
     * [(H+2K)D] if not null and rotating q and k by {@code rope} (positions 0..T-1) if not null.
     */
    void splitHeads(INDArray qkv, INDArray bias, RopeTable rope, AttentionShape shape, INDArray q, INDArray k,
                    INDArray v);

    /** Backward of {@link #splitHeads} without the bias: dQkv [N, (H+2K)D] is overwritten. */
    void splitHeadsBackward(INDArray dq, INDArray dk, INDArray dv, RopeTable rope, AttentionShape shape,
                            INDArray dQkv);

    /** y [B, K, G, T, D] to out [N, H*D] (head-major columns, as the output projection expects). */
    void mergeHeads(INDArray y, AttentionShape shape, INDArray out);

    /** dOut [N, H*D] to dy [B, K, G, T, D]. */
    void mergeHeadsBackward(INDArray dOut, AttentionShape shape, INDArray dy);

    /**
     * Causal attention per (batch, key/value head): probs = softmax(scale * q k^T) with keys after the
     * query's position masked (row r of a [G*T, T] block is position r mod T), y = probs v.
     * q, y [B*K, G*T, D]; k, v [B*K, T, D]; probs [B*K, G*T, T] is saved for the backward (masked
     * entries are 0).
     */
    void attention(INDArray q, INDArray k, INDArray v, double scale, AttentionShape shape, INDArray probs,
                   INDArray y);

    /** Backward of {@link #attention}: dq, dk, dv (overwritten) from dy, using the saved probs. */
    void attentionBackward(INDArray q, INDArray k, INDArray v, INDArray probs, INDArray dy, double scale,
                           AttentionShape shape, INDArray dq, INDArray dk, INDArray dv);

    /** out = residual + y (+ bias broadcast over rows when not null). [N, C]. out may alias residual. */
    void addResidual(INDArray residual, INDArray y, INDArray bias, INDArray out);

    /** dBias [M] += column sums of dOut [N, M]. */
    void biasGradient(INDArray dOut, INDArray dBias);

    /**
     * logProbs[n] = logits[n, targets[n]] - logSumExp[n] for logits [N, V]; saves logSumExp [N].
     * A negative target marks a position with no target: its log-prob is 0.
     */
    void targetLogProbs(INDArray logits, int[] targets, INDArray logProbs, INDArray logSumExp);

    /**
     * In place on logits [N, V]: dLogits = dLogProbs[n] * (onehot(targets[n]) - softmax(logits[n]))
     * (+ extraDLogits when not null). Positions with a negative target contribute only extraDLogits.
     */
    void logitsBackward(INDArray logits, INDArray logSumExp, int[] targets, INDArray dLogProbs,
                        INDArray extraDLogits);

    /**
     * One AdamW update of the flat parameter vector in place (see {@link AdamStep}). Decay applies to
     * elements [0, decayedLength) only. params, grads, m, v are [P]; grads is not modified.
     */
    void adamW(INDArray params, INDArray grads, INDArray m, INDArray v, long decayedLength, AdamStep step);

    /**
     * Sum of squares of a flat vector, accumulated in double in an order fixed by the vector's length
     * alone (so concurrent tasks and thread counts cannot change the last bit; clipping depends on it).
     */
    double sumOfSquares(INDArray vector);
}
