package io.whetstone.models.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The plain twin of every kernel: straightforward loops in double over any data type, written to be
 * read, not to be fast. Tests compare the fast kernels with these, and the whole-model gradient check
 * runs the engine in double with these.
 */
public final class ReferenceKernels implements Kernels {

    private static final double GELU_C = Math.sqrt(2.0 / Math.PI);

    /**
     * Element {@code index} of a contiguous array. A view's DataBuffer starts at the view's first
     * element (its originalOffset in the underlying buffer), while offset() counts from the underlying
     * buffer's start; the difference is 0 for views made by get/reshape but kept for safety.
     */
    private static long position(INDArray array, long index) {
        return array.offset() - array.data().originalOffset() + index;
    }

    private static double get(INDArray array, long index) {
        return array.data().getDouble(position(array, index));
    }

    private static void set(INDArray array, long index, double value) {
        array.data().put(position(array, index), value);
    }

    private static void add(INDArray array, long index, double value) {
        set(array, index, get(array, index) + value);
    }

    private static int cols(INDArray matrix) {
        return (int) matrix.size(matrix.rank() - 1);
    }

    private static int rows(INDArray matrix) {
        return (int) (matrix.length() / cols(matrix));
    }

    @Override
    public void embed(int[] tokens, INDArray table, INDArray positions, int seqLen, INDArray out) {
        int width = cols(table);
        for (int n = 0; n < tokens.length; n++) {
            for (int c = 0; c < width; c++) {
                double value = get(table, (long) tokens[n] * width + c);
                if (positions != null) {
                    value += get(positions, (long) (n % seqLen) * width + c);
                }
                set(out, (long) n * width + c, value);
            }
        }
    }

    @Override
    public void embedBackward(int[] tokens, INDArray dOut, INDArray dTable, INDArray dPositions, int seqLen) {
        int width = cols(dTable);
        for (int n = 0; n < tokens.length; n++) {
            for (int c = 0; c < width; c++) {
                double grad = get(dOut, (long) n * width + c);
                add(dTable, (long) tokens[n] * width + c, grad);
                if (dPositions != null) {
                    add(dPositions, (long) (n % seqLen) * width + c, grad);
                }
            }
        }
    }

    @Override
    public void layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, INDArray out, INDArray mean,
                          INDArray rstd) {
        int rows = rows(x);
        int width = cols(x);
        for (int n = 0; n < rows; n++) {
            double sum = 0;
            for (int c = 0; c < width; c++) {
                sum += get(x, (long) n * width + c);
            }
            double mu = sum / width;
            double variance = 0;
            for (int c = 0; c < width; c++) {
                double centered = get(x, (long) n * width + c) - mu;
                variance += centered * centered;
            }
            double inverse = 1.0 / Math.sqrt(variance / width + eps);
            for (int c = 0; c < width; c++) {
                double normalized = (get(x, (long) n * width + c) - mu) * inverse;
                set(out, (long) n * width + c, normalized * get(gamma, c) + get(beta, c));
            }
            set(mean, n, mu);
            set(rstd, n, inverse);
        }
    }

    @Override
    public void layerNormBackward(INDArray dOut, INDArray x, INDArray gamma, INDArray mean, INDArray rstd,
                                  INDArray dx, INDArray dGamma, INDArray dBeta) {
        int rows = rows(x);
        int width = cols(x);
        for (int n = 0; n < rows; n++) {
            double mu = get(mean, n);
            double inverse = get(rstd, n);
            double meanDxhat = 0;
            double meanDxhatXhat = 0;
            for (int c = 0; c < width; c++) {
                long i = (long) n * width + c;
                double xhat = (get(x, i) - mu) * inverse;
                double dxhat = get(dOut, i) * get(gamma, c);
                meanDxhat += dxhat;
                meanDxhatXhat += dxhat * xhat;
                add(dGamma, c, get(dOut, i) * xhat);
                add(dBeta, c, get(dOut, i));
            }
            meanDxhat /= width;
            meanDxhatXhat /= width;
            for (int c = 0; c < width; c++) {
                long i = (long) n * width + c;
                double xhat = (get(x, i) - mu) * inverse;
                double dxhat = get(dOut, i) * get(gamma, c);
                add(dx, i, inverse * (dxhat - meanDxhat - xhat * meanDxhatXhat));
            }
        }
    }

    @Override
    public void rmsNorm(INDArray x, INDArray weight, double eps, INDArray out, INDArray rstd) {
        int rows = rows(x);
        int width = cols(x);
        for (int n = 0; n < rows; n++) {
            double squares = 0;
            for (int c = 0; c < width; c++) {
                double value = get(x, (long) n * width + c);
                squares += value * value;
            }
            double inverse = 1.0 / Math.sqrt(squares / width + eps);
            for (int c = 0; c < width; c++) {
                long i = (long) n * width + c;
                set(out, i, get(x, i) * inverse * get(weight, c));
            }
            set(rstd, n, inverse);
        }
    }

    @Override
    public void rmsNormBackward(INDArray dOut, INDArray x, INDArray weight, INDArray rstd, INDArray dx,
                                INDArray dWeight) {
        int rows = rows(x);
        int width = cols(x);
        for (int n = 0; n < rows; n++) {
            double inverse = get(rstd, n);
            double dot = 0;
            for (int c = 0; c < width; c++) {
                long i = (long) n * width + c;
                dot += get(dOut, i) * get(weight, c) * get(x, i);
                add(dWeight, c, get(dOut, i) * get(x, i) * inverse);
            }
            double meanDot = dot / width;
            for (int c = 0; c < width; c++) {
                long i = (long) n * width + c;
                double dxhat = get(dOut, i) * get(weight, c);
                add(dx, i, inverse * dxhat - get(x, i) * inverse * inverse * inverse * meanDot);
            }
        }
    }

    @Override
    public void biasGelu(INDArray preact, INDArray bias, INDArray out) {
        gelu(preact, bias, out, false);
    }

    @Override
    public void biasGeluWithDerivative(INDArray preact, INDArray bias, INDArray out) {
        gelu(preact, bias, out, true);
    }

    /** out = gelu(preact + bias); preact becomes gelu'(preact + bias) when {@code derivative}, else preact + bias. */
    private static void gelu(INDArray preact, INDArray bias, INDArray out, boolean derivative) {
        int rows = rows(preact);
        int width = cols(preact);
        for (int n = 0; n < rows; n++) {
            for (int c = 0; c < width; c++) {
                long i = (long) n * width + c;
                double value = get(preact, i) + (bias == null ? 0 : get(bias, c));
                set(out, i, gelu(value));
                set(preact, i, derivative ? geluDerivative(value) : value);
            }
        }
    }

    @Override
    public void geluBackward(INDArray dOut, INDArray derivative, INDArray dPreact, INDArray dBias) {
        long length = derivative.length();
        for (long i = 0; i < length; i++) {
            set(dPreact, i, get(dOut, i) * get(derivative, i));
        }
        if (dBias != null) {
            biasGradient(dPreact, dBias);
        }
    }

    @Override
    public void swiglu(INDArray gateUp, INDArray out) {
        gated(gateUp, out, ReferenceKernels::silu);
    }

    @Override
    public void swigluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp) {
        gatedBackward(dOut, gateUp, dGateUp, ReferenceKernels::silu, ReferenceKernels::siluDerivative);
    }

    @Override
    public void geglu(INDArray gateUp, INDArray out) {
        gated(gateUp, out, ReferenceKernels::gelu);
    }

    @Override
    public void gegluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp) {
        gatedBackward(dOut, gateUp, dGateUp, ReferenceKernels::gelu, ReferenceKernels::geluDerivative);
    }

    /** out [N, F] = activation(gate) * up, gateUp [N, 2F] = [gate | up]. */
    private static void gated(INDArray gateUp, INDArray out, java.util.function.DoubleUnaryOperator activation) {
        int rows = rows(out);
        int hidden = cols(out);
        for (int n = 0; n < rows; n++) {
            for (int f = 0; f < hidden; f++) {
                double gate = get(gateUp, (long) n * 2 * hidden + f);
                double up = get(gateUp, (long) n * 2 * hidden + hidden + f);
                set(out, (long) n * hidden + f, activation.applyAsDouble(gate) * up);
            }
        }
    }

    /** dGateUp [N, 2F] from dOut [N, F] through {@link #gated}. */
    private static void gatedBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp,
                                      java.util.function.DoubleUnaryOperator activation,
                                      java.util.function.DoubleUnaryOperator derivative) {
        int rows = rows(dOut);
        int hidden = cols(dOut);
        for (int n = 0; n < rows; n++) {
            for (int f = 0; f < hidden; f++) {
                long gateIndex = (long) n * 2 * hidden + f;
                long upIndex = gateIndex + hidden;
                double gate = get(gateUp, gateIndex);
                double up = get(gateUp, upIndex);
                double grad = get(dOut, (long) n * hidden + f);
                set(dGateUp, gateIndex, grad * up * derivative.applyAsDouble(gate));
                set(dGateUp, upIndex, grad * activation.applyAsDouble(gate));
            }
        }
    }

    private static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }

    private static double siluDerivative(double x) {
        double sigmoid = 1 / (1 + Math.exp(-x));
        return sigmoid * (1 + x * (1 - sigmoid));
    }

    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
    }

    private static double geluDerivative(double x) {
        double tanh = Math.tanh(GELU_C * (x + 0.044715 * x * x * x));
        return 0.5 * (1 + tanh) + 0.5 * x * (1 - tanh * tanh) * GELU_C * (1 + 3 * 0.044715 * x * x);
    }

    /** Column of head {@code head}'s feature {@code d} in the fused qkv row: q heads, then k, then v. */
    private static long queryIndex(AttentionShape s, int b, int kvHead, int g, int t, int d) {
        return ((((long) b * s.kvHeads() + kvHead) * s.groupSize() + g) * s.seqLen() + t) * s.headSize() + d;
    }

    private static long keyIndex(AttentionShape s, int b, int kvHead, int t, int d) {
        return (((long) b * s.kvHeads() + kvHead) * s.seqLen() + t) * s.headSize() + d;
    }

    @Override
    public void splitHeads(INDArray qkv, INDArray bias, RopeTable rope, AttentionShape s, INDArray q, INDArray k,
                           INDArray v) {
        int width = s.qkvWidth();
        int size = s.headSize();
        for (int b = 0; b < s.batch(); b++) {
            for (int t = 0; t < s.seqLen(); t++) {
                long row = (long) (b * s.seqLen() + t) * width;
                for (int kv = 0; kv < s.kvHeads(); kv++) {
                    for (int g = 0; g < s.groupSize(); g++) {
                        int column = (kv * s.groupSize() + g) * size;
                        copyHead(qkv, bias, row, column, rope, t, q, queryIndex(s, b, kv, g, t, 0), size);
                    }
                    int keyColumn = s.heads() * size + kv * size;
                    copyHead(qkv, bias, row, keyColumn, rope, t, k, keyIndex(s, b, kv, t, 0), size);
                    int valueColumn = (s.heads() + s.kvHeads()) * size + kv * size;
                    copyHead(qkv, bias, row, valueColumn, null, t, v, keyIndex(s, b, kv, t, 0), size);
                }
            }
        }
    }

    private static void copyHead(INDArray qkv, INDArray bias, long row, int column, RopeTable rope, int position,
                                 INDArray target, long targetIndex, int size) {
        double[] head = new double[size];
        for (int d = 0; d < size; d++) {
            head[d] = get(qkv, row + column + d) + (bias == null ? 0 : get(bias, column + d));
        }
        if (rope != null) {
            rotate(head, rope, position, 1);
        }
        for (int d = 0; d < size; d++) {
            set(target, targetIndex + d, head[d]);
        }
    }

    /** Rotates adjacent pairs of {@code head} by +angle (direction 1) or -angle (direction -1). */
    private static void rotate(double[] head, RopeTable rope, int position, int direction) {
        int half = head.length / 2;
        for (int i = 0; i < half; i++) {
            double cos = get(rope.cos(), (long) position * half + i);
            double sin = direction * get(rope.sin(), (long) position * half + i);
            double x0 = head[2 * i];
            double x1 = head[2 * i + 1];
            head[2 * i] = x0 * cos - x1 * sin;
            head[2 * i + 1] = x0 * sin + x1 * cos;
        }
    }

    @Override
    public void splitHeadsBackward(INDArray dq, INDArray dk, INDArray dv, RopeTable rope, AttentionShape s,
                                   INDArray dQkv) {
        int width = s.qkvWidth();
        int size = s.headSize();
        for (int b = 0; b < s.batch(); b++) {
            for (int t = 0; t < s.seqLen(); t++) {
                long row = (long) (b * s.seqLen() + t) * width;
                for (int kv = 0; kv < s.kvHeads(); kv++) {
                    for (int g = 0; g < s.groupSize(); g++) {
                        int column = (kv * s.groupSize() + g) * size;
                        uncopyHead(dq, queryIndex(s, b, kv, g, t, 0), rope, t, dQkv, row + column, size);
                    }
                    uncopyHead(dk, keyIndex(s, b, kv, t, 0), rope, t, dQkv, row + s.heads() * size + kv * size,
                            size);
                    uncopyHead(dv, keyIndex(s, b, kv, t, 0), null, t, dQkv,
                            row + (s.heads() + s.kvHeads()) * size + kv * size, size);
                }
            }
        }
    }

    private static void uncopyHead(INDArray source, long sourceIndex, RopeTable rope, int position, INDArray dQkv,
                                   long targetIndex, int size) {
        double[] head = new double[size];
        for (int d = 0; d < size; d++) {
            head[d] = get(source, sourceIndex + d);
        }
        if (rope != null) {
            rotate(head, rope, position, -1); // the transpose of a rotation is the inverse rotation
        }
        for (int d = 0; d < size; d++) {
            set(dQkv, targetIndex + d, head[d]);
        }
    }

    @Override
    public void mergeHeads(INDArray y, AttentionShape s, INDArray out) {
        moveHeads(y, s, out, true);
    }

    @Override
    public void mergeHeadsBackward(INDArray dOut, AttentionShape s, INDArray dy) {
        moveHeads(dy, s, dOut, false);
    }

    private static void moveHeads(INDArray headMajor, AttentionShape s, INDArray rowMajor, boolean toRows) {
        int size = s.headSize();
        for (int b = 0; b < s.batch(); b++) {
            for (int kv = 0; kv < s.kvHeads(); kv++) {
                for (int g = 0; g < s.groupSize(); g++) {
                    for (int t = 0; t < s.seqLen(); t++) {
                        for (int d = 0; d < size; d++) {
                            long headIndex = queryIndex(s, b, kv, g, t, d);
                            long rowIndex = (long) (b * s.seqLen() + t) * s.heads() * size
                                    + (kv * s.groupSize() + g) * size + d;
                            if (toRows) {
                                set(rowMajor, rowIndex, get(headMajor, headIndex));
                            } else {
                                set(headMajor, headIndex, get(rowMajor, rowIndex));
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    public void attention(INDArray q, INDArray k, INDArray v, double scale, AttentionShape s, INDArray probs,
                          INDArray y) {
        int seqLen = s.seqLen();
        int size = s.headSize();
        int rows = s.groupSize() * seqLen;
        for (long m = 0; m < (long) s.batch() * s.kvHeads(); m++) {
            for (int r = 0; r < rows; r++) {
                int position = r % seqLen;
                long qBase = (m * rows + r) * size;
                long pBase = (m * rows + r) * seqLen;
                double[] scores = new double[position + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= position; j++) {
                    double dot = 0;
                    for (int d = 0; d < size; d++) {
                        dot += get(q, qBase + d) * get(k, (m * seqLen + j) * size + d);
                    }
                    scores[j] = scale * dot;
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j <= position; j++) {
                    scores[j] = Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int j = 0; j < seqLen; j++) {
                    set(probs, pBase + j, j <= position ? scores[j] / sum : 0.0);
                }
                for (int d = 0; d < size; d++) {
                    double value = 0;
                    for (int j = 0; j <= position; j++) {
                        value += scores[j] / sum * get(v, (m * seqLen + j) * size + d);
                    }
                    set(y, qBase + d, value);
                }
            }
        }
    }

    @Override
    public void attentionBackward(INDArray q, INDArray k, INDArray v, INDArray probs, INDArray dy, double scale,
                                  AttentionShape s, INDArray dq, INDArray dk, INDArray dv) {
        int seqLen = s.seqLen();
        int size = s.headSize();
        int rows = s.groupSize() * seqLen;
        for (long i = 0; i < dk.length(); i++) {
            set(dk, i, 0.0);
            set(dv, i, 0.0);
        }
        for (long m = 0; m < (long) s.batch() * s.kvHeads(); m++) {
            for (int r = 0; r < rows; r++) {
                long qBase = (m * rows + r) * size;
                long pBase = (m * rows + r) * seqLen;
                double[] dProbs = new double[seqLen];
                double dot = 0;
                for (int j = 0; j < seqLen; j++) {
                    for (int d = 0; d < size; d++) {
                        dProbs[j] += get(dy, qBase + d) * get(v, (m * seqLen + j) * size + d);
                    }
                    dot += dProbs[j] * get(probs, pBase + j);
                }
                for (int d = 0; d < size; d++) {
                    set(dq, qBase + d, 0.0);
                }
                for (int j = 0; j < seqLen; j++) {
                    double p = get(probs, pBase + j);
                    double dScore = scale * p * (dProbs[j] - dot);
                    for (int d = 0; d < size; d++) {
                        long kIndex = (m * seqLen + j) * size + d;
                        add(dq, qBase + d, dScore * get(k, kIndex));
                        add(dk, kIndex, dScore * get(q, qBase + d));
                        add(dv, kIndex, p * get(dy, qBase + d));
                    }
                }
            }
        }
    }

    @Override
    public void addResidual(INDArray residual, INDArray y, INDArray bias, INDArray out) {
        int rows = rows(y);
        int width = cols(y);
        for (int n = 0; n < rows; n++) {
            for (int c = 0; c < width; c++) {
                long i = (long) n * width + c;
                set(out, i, get(residual, i) + get(y, i) + (bias == null ? 0 : get(bias, c)));
            }
        }
    }

    @Override
    public void biasGradient(INDArray dOut, INDArray dBias) {
        int rows = rows(dOut);
        int width = cols(dOut);
        for (int c = 0; c < width; c++) {
            double sum = 0;
            for (int n = 0; n < rows; n++) {
                sum += get(dOut, (long) n * width + c);
            }
            add(dBias, c, sum);
        }
    }

    @Override
    public void targetLogProbs(INDArray logits, int[] targets, INDArray logProbs, INDArray logSumExp) {
        int vocab = cols(logits);
        for (int n = 0; n < targets.length; n++) {
            long base = (long) n * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, get(logits, base + j));
            }
            double sum = 0;
            for (int j = 0; j < vocab; j++) {
                sum += Math.exp(get(logits, base + j) - max);
            }
            double lse = max + Math.log(sum);
            set(logSumExp, n, lse);
            set(logProbs, n, targets[n] < 0 ? 0.0 : get(logits, base + targets[n]) - lse);
        }
    }

    @Override
    public void logitsBackward(INDArray logits, INDArray logSumExp, int[] targets, INDArray dLogProbs,
                               INDArray extraDLogits) {
        int vocab = cols(logits);
        for (int n = 0; n < targets.length; n++) {
            long base = (long) n * vocab;
            double lse = get(logSumExp, n);
            double grad = targets[n] < 0 ? 0.0 : get(dLogProbs, n);
            for (int j = 0; j < vocab; j++) {
                double probability = Math.exp(get(logits, base + j) - lse);
                double value = grad * ((j == targets[n] ? 1.0 : 0.0) - probability);
                if (extraDLogits != null) {
                    value += get(extraDLogits, base + j);
                }
                set(logits, base + j, value);
            }
        }
    }

    @Override
    public void adamW(INDArray params, INDArray grads, INDArray m, INDArray v, long decayedLength, AdamStep step) {
        double firstCorrection = step.firstCorrection();
        double secondCorrection = step.secondCorrection();
        for (long i = 0; i < params.length(); i++) {
            double p = get(params, i);
            if (i < decayedLength) {
                p *= 1 - step.learningRate() * step.weightDecay();
            }
            double g = get(grads, i) * step.gradScale();
            double first = step.beta1() * get(m, i) + (1 - step.beta1()) * g;
            double second = step.beta2() * get(v, i) + (1 - step.beta2()) * g * g;
            set(m, i, first);
            set(v, i, second);
            double update = (first / firstCorrection) / (Math.sqrt(second / secondCorrection) + step.epsilon());
            set(params, i, p - step.learningRate() * update);
        }
    }

    @Override
    public double sumOfSquares(INDArray vector) {
        double sum = 0;
        for (long i = 0; i < vector.length(); i++) {
            double value = get(vector, i);
            sum += value * value;
        }
        return sum;
    }
}
