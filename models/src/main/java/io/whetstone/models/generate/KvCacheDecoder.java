package io.whetstone.models.generate;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.kernels.Kernels;
import io.whetstone.models.kernels.RopeTable;
import io.whetstone.models.kernels.VectorMath;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batched sampling with a key/value cache, on the CPU backend in fp32. Each step feeds one token per row
 * (all rows at the same position, prompts left-aligned: a row still in its prompt feeds its next prompt
 * token and ignores the logits), so prompts of different lengths share one batch. Per layer a step is
 * three or four GEMMs of [B, C] through ND4J, the model's own kernels for norms, activations and
 * residuals, and attention over the cache in Java. Every sampled token comes with its log-probability
 * under the model (what a teacher-forced forward pass gives) and under the sampling distribution.
 * Deterministic: each row has its own generator seeded by (seed, row).
 */
public final class KvCacheDecoder {

    private final Transformer model;
    private final ModelConfig config;
    private final Kernels kernels;
    private final ParameterStore store;
    private final RopeTable rope;
    private final boolean gpt2;

    public KvCacheDecoder(Transformer model) {
        if (model.parameters().dataType() != DataType.FLOAT || !KernelChoice.cpuBackend()) {
            throw new IllegalArgumentException("the KV-cache decoder runs in fp32 on the CPU backend; use GreedyDecoder");
        }
        this.model = model;
        this.config = model.config();
        this.kernels = model.kernels();
        this.store = model.parameters();
        this.gpt2 = config.family() == Family.GPT2;
        this.rope = gpt2 ? null : RopeTable.create(config.maxSeqLen(), config.headSize(), config.ropeTheta(),
                DataType.FLOAT);
    }

    /** Ends a row early: called after each generated token with the row's tokens so far. */
    @FunctionalInterface
    public interface StopCondition {
        boolean stop(int row, int[] generated);
    }

    /** Continuations of {@code prompts}; row b's generator is seeded by (sampling.seed, b). */
    public List<Completion> generate(List<int[]> prompts, SamplingConfig sampling) {
        long[] seeds = new long[prompts.size()];
        for (int b = 0; b < seeds.length; b++) {
            seeds[b] = sampling.seed() * 0x9E3779B97F4A7C15L + b;
        }
        return generate(prompts, sampling, seeds, null);
    }

    /**
     * Continuations of {@code prompts} (each non-empty, at most max_seq_len ids), row b sampled with a
     * generator seeded by {@code seeds[b]} (so a row's sample does not depend on its batch), ending early
     * where {@code stop} (may be null) says so.
     */
    public List<Completion> generate(List<int[]> prompts, SamplingConfig sampling, long[] seeds, StopCondition stop) {
        int batch = prompts.size();
        if (seeds.length != batch) {
            throw new IllegalArgumentException(batch + " prompts need " + batch + " seeds, got " + seeds.length);
        }
        if (batch == 0) {
            return List.of();
        }
        int longest = 0;
        int shortest = Integer.MAX_VALUE;
        for (int[] prompt : prompts) {
            longest = Math.max(longest, prompt.length);
            shortest = Math.min(shortest, prompt.length);
        }
        if (shortest == 0 || longest > config.maxSeqLen()) {
            throw new IllegalArgumentException("prompts must have 1 to " + config.maxSeqLen() + " tokens");
        }
        int maxLen = Math.min(config.maxSeqLen(), longest + sampling.maxNewTokens());
        State state = new State(batch, maxLen);
        List<List<Integer>> tokens = new ArrayList<>();
        List<List<Float>> logProbs = new ArrayList<>();
        List<List<Float>> samplerLogProbs = new ArrayList<>();
        Completion.Finish[] finish = new Completion.Finish[batch];
        SplittableRandom[] randoms = new SplittableRandom[batch];
        for (int b = 0; b < batch; b++) {
            tokens.add(new ArrayList<>());
            logProbs.add(new ArrayList<>());
            samplerLogProbs.add(new ArrayList<>());
            randoms[b] = new SplittableRandom(seeds[b]);
        }
        int[] input = new int[batch];
        float[] row = new float[VectorMath.padded(config.vocabSize())];
        for (int position = 0; position < maxLen; position++) {
            boolean active = false;
            for (int b = 0; b < batch; b++) {
                int[] prompt = prompts.get(b);
                if (position < prompt.length) {
                    input[b] = prompt[position];
                } else if (finish[b] == null) {
                    input[b] = tokens.get(b).get(position - prompt.length);
                }
                // finished rows keep feeding their last token; their logits are ignored
            }
            INDArray logits = step(state, input, position);
            FloatBuffer buffer = logits.data().asNioFloat();
            for (int b = 0; b < batch; b++) {
                if (finish[b] != null || position < prompts.get(b).length - 1) {
                    active |= finish[b] == null;
                    continue;
                }
                buffer.get((int) logits.offset() + b * config.vocabSize(), row, 0, config.vocabSize());
                float[] choice = TokenChooser.choose(row, config.vocabSize(), sampling, randoms[b]);
                int token = (int) choice[0];
                tokens.get(b).add(token);
                logProbs.get(b).add(choice[1]);
                samplerLogProbs.get(b).add(choice[2]);
                if (sampling.isStop(token) || (stop != null && stop.stop(b, tokens.get(b).stream()
                        .mapToInt(Integer::intValue).toArray()))) {
                    finish[b] = Completion.Finish.STOP;
                } else if (tokens.get(b).size() == sampling.maxNewTokens()) {
                    finish[b] = Completion.Finish.LENGTH;
                } else if (position + 1 >= maxLen) {
                    finish[b] = Completion.Finish.CONTEXT;
                } else {
                    active = true;
                }
            }
            if (!active) {
                break;
            }
        }
        List<Completion> completions = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            completions.add(new Completion(tokens.get(b).stream().mapToInt(Integer::intValue).toArray(),
                    toArray(logProbs.get(b)), toArray(samplerLogProbs.get(b)),
                    finish[b] == null ? Completion.Finish.CONTEXT : finish[b]));
        }
        return completions;
    }

    private static float[] toArray(List<Float> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    /** Per-generate buffers and caches. */
    private final class State {
        final int batch;
        final int maxLen;
        final INDArray x;
        final INDArray normed;
        final INDArray mean;
        final INDArray rstd;
        final INDArray qkv;
        final INDArray y;
        final INDArray projection;
        final INDArray pre;
        final INDArray act;
        final INDArray logits;
        final float[][] keys; // per layer [B][K][maxLen][Dp]
        final float[][] values;
        final int sizeStride;

        State(int batch, int maxLen) {
            this.batch = batch;
            this.maxLen = maxLen;
            int c = config.width();
            x = Nd4j.zeros(DataType.FLOAT, batch, c);
            normed = Nd4j.zeros(DataType.FLOAT, batch, c);
            mean = Nd4j.zeros(DataType.FLOAT, batch);
            rstd = Nd4j.zeros(DataType.FLOAT, batch);
            qkv = Nd4j.zeros(DataType.FLOAT, batch, config.qkvWidth());
            y = Nd4j.zeros(DataType.FLOAT, batch, (long) config.heads() * config.headSize());
            projection = Nd4j.zeros(DataType.FLOAT, batch, c);
            pre = Nd4j.zeros(DataType.FLOAT, batch, gpt2 ? config.ffnHidden() : 2L * config.ffnHidden());
            act = Nd4j.zeros(DataType.FLOAT, batch, config.ffnHidden());
            logits = Nd4j.zeros(DataType.FLOAT, batch, config.vocabSize());
            sizeStride = VectorMath.padded(config.headSize());
            keys = new float[config.layers()][batch * config.kvHeads() * maxLen * sizeStride];
            values = new float[config.layers()][batch * config.kvHeads() * maxLen * sizeStride];
        }
    }

    private INDArray step(State s, int[] input, int position) {
        embed(s, input, position);
        for (int layer = 0; layer < config.layers(); layer++) {
            norm(layer, true, s.x, s);
            org.nd4j.linalg.factory.Nd4j.gemm(s.normed, weight(layer, "qkv"), s.qkv, false, false, 1.0, 0.0);
            attend(s, layer, position);
            Nd4j.gemm(s.y, weight(layer, "o"), s.projection, false, false, 1.0, 0.0);
            kernels.addResidual(s.x, s.projection, gpt2 ? store.tensor("h." + layer + ".attn.c_proj.bias") : null, s.x);
            norm(layer, false, s.x, s);
            Nd4j.gemm(s.normed, weight(layer, "in"), s.pre, false, false, 1.0, 0.0);
            if (gpt2) {
                kernels.biasGelu(s.pre, store.tensor("h." + layer + ".mlp.c_fc.bias"), s.act);
            } else {
                kernels.swiglu(s.pre, s.act);
            }
            Nd4j.gemm(s.act, weight(layer, "out"), s.projection, false, false, 1.0, 0.0);
            kernels.addResidual(s.x, s.projection, gpt2 ? store.tensor("h." + layer + ".mlp.c_proj.bias") : null, s.x);
        }
        if (gpt2) {
            kernels.layerNorm(s.x, store.tensor("ln_f.weight"), store.tensor("ln_f.bias"), config.normEps(), s.normed,
                    s.mean, s.rstd);
        } else {
            kernels.rmsNorm(s.x, store.tensor("norm"), config.normEps(), s.normed, s.rstd);
        }
        INDArray head = store.tensor(config.tiedEmbeddings() ? (gpt2 ? "wte.weight" : "embed") : "lm_head");
        Nd4j.gemm(s.normed, head, s.logits, false, true, 1.0, 0.0);
        return s.logits;
    }

    private INDArray weight(int layer, String which) {
        if (gpt2) {
            String p = "h." + layer + ".";
            return store.tensor(switch (which) {
                case "qkv" -> p + "attn.c_attn.weight";
                case "o" -> p + "attn.c_proj.weight";
                case "in" -> p + "mlp.c_fc.weight";
                default -> p + "mlp.c_proj.weight";
            });
        }
        String p = "layers." + layer + ".";
        return store.tensor(switch (which) {
            case "qkv" -> p + "wqkv";
            case "o" -> p + "wo";
            case "in" -> p + "w_gate_up";
            default -> p + "w_down";
        });
    }

    private void norm(int layer, boolean first, INDArray x, State s) {
        if (gpt2) {
            String p = "h." + layer + (first ? ".ln_1" : ".ln_2");
            kernels.layerNorm(x, store.tensor(p + ".weight"), store.tensor(p + ".bias"), config.normEps(), s.normed,
                    s.mean, s.rstd);
        } else {
            kernels.rmsNorm(x, store.tensor("layers." + layer + (first ? ".attn_norm" : ".ffn_norm")), config.normEps(),
                    s.normed, s.rstd);
        }
    }

    private void embed(State s, int[] input, int position) {
        int c = config.width();
        INDArray table = store.tensor(gpt2 ? "wte.weight" : "embed");
        FloatBuffer tableBuf = table.data().asNioFloat();
        FloatBuffer out = s.x.data().asNioFloat();
        float[] row = new float[c];
        float[] positionRow = new float[c];
        if (gpt2) {
            INDArray positions = store.tensor("wpe.weight");
            positions.data().asNioFloat().get((int) positions.offset() + position * c, positionRow, 0, c);
        }
        for (int b = 0; b < s.batch; b++) {
            if (input[b] < 0 || input[b] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + input[b] + " is outside the vocabulary");
            }
            tableBuf.get((int) table.offset() + input[b] * c, row, 0, c);
            for (int i = 0; i < c; i++) {
                row[i] += positionRow[i];
            }
            out.put((int) s.x.offset() + b * c, row, 0, c);
        }
    }

    /** Splits the new qkv rows, rotates q and k, appends k and v to the cache, and attends. */
    private void attend(State s, int layer, int position) {
        int size = config.headSize();
        int stride = s.sizeStride;
        int heads = config.heads();
        int kvHeads = config.kvHeads();
        int group = config.groupSize();
        int width = config.qkvWidth();
        FloatBuffer qkvBuf = s.qkv.data().asNioFloat();
        FloatBuffer yBuf = s.y.data().asNioFloat();
        float[] row = new float[width];
        float[] bias = null;
        if (gpt2) {
            bias = new float[width];
            INDArray b = store.tensor("h." + layer + ".attn.c_attn.bias");
            b.data().asNioFloat().get((int) b.offset(), bias, 0, width);
        }
        float[] cos = null;
        float[] sin = null;
        if (rope != null) {
            cos = new float[size / 2];
            sin = new float[size / 2];
            rope.cos().data().asNioFloat().get((int) rope.cos().offset() + position * (size / 2), cos, 0, size / 2);
            rope.sin().data().asNioFloat().get((int) rope.sin().offset() + position * (size / 2), sin, 0, size / 2);
        }
        float scale = (float) (1.0 / Math.sqrt(size));
        float[] query = new float[stride];
        float[] scores = new float[VectorMath.padded(position + 1)];
        float[] out = new float[stride];
        float[] yRow = new float[heads * size];
        float[] keys = s.keys[layer];
        float[] values = s.values[layer];
        for (int b = 0; b < s.batch; b++) {
            qkvBuf.get((int) s.qkv.offset() + b * width, row, 0, width);
            if (bias != null) {
                for (int i = 0; i < width; i++) {
                    row[i] += bias[i];
                }
            }
            if (rope != null) {
                for (int head = 0; head < heads + kvHeads; head++) {
                    rotate(row, head * size, cos, sin);
                }
            }
            for (int kv = 0; kv < kvHeads; kv++) {
                int slot = ((b * kvHeads + kv) * s.maxLen + position) * stride;
                System.arraycopy(row, (heads + kv) * size, keys, slot, size);
                System.arraycopy(row, (heads + kvHeads + kv) * size, values, slot, size);
            }
            for (int head = 0; head < heads; head++) {
                int kv = head / group;
                int base = (b * kvHeads + kv) * s.maxLen * stride;
                System.arraycopy(row, head * size, query, 0, size);
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= position; j++) {
                    scores[j] = VectorMath.dot(query, 0, keys, base + j * stride, size) * scale;
                    max = Math.max(max, scores[j]);
                }
                Arrays.fill(scores, position + 1, scores.length, Float.NEGATIVE_INFINITY);
                FloatVector sumAcc = FloatVector.zero(VectorMath.SPECIES);
                for (int j = 0; j < scores.length; j += VectorMath.LANES) {
                    FloatVector e = VectorMath.exp(FloatVector.fromArray(VectorMath.SPECIES, scores, j).sub(max));
                    e.intoArray(scores, j);
                    sumAcc = sumAcc.add(e);
                }
                float inverse = 1f / VectorMath.addLanes(sumAcc);
                Arrays.fill(out, 0f);
                for (int j = 0; j <= position; j++) {
                    FloatVector p = FloatVector.broadcast(VectorMath.SPECIES, scores[j] * inverse);
                    int at = base + j * stride;
                    for (int d = 0; d < stride; d += VectorMath.LANES) {
                        FloatVector.fromArray(VectorMath.SPECIES, values, at + d)
                                .fma(p, FloatVector.fromArray(VectorMath.SPECIES, out, d)).intoArray(out, d);
                    }
                }
                System.arraycopy(out, 0, yRow, head * size, size);
            }
            yBuf.put((int) s.y.offset() + b * heads * size, yRow, 0, heads * size);
        }
    }

    private static void rotate(float[] row, int offset, float[] cos, float[] sin) {
        for (int i = 0; i < cos.length; i++) {
            float x0 = row[offset + 2 * i];
            float x1 = row[offset + 2 * i + 1];
            row[offset + 2 * i] = x0 * cos[i] - x1 * sin[i];
            row[offset + 2 * i + 1] = x0 * sin[i] + x1 * cos[i];
        }
    }
}
