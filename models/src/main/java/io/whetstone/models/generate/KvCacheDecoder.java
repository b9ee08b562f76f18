package io.whetstone.models.generate;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.Gemm;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.kernels.Kernels;
import io.whetstone.models.kernels.RopeTable;
import io.whetstone.models.kernels.RowPools;
import io.whetstone.models.kernels.VectorMath;
import io.whetstone.models.lora.LoraLayout;
import io.whetstone.models.lora.LoraSite;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Batched sampling with a key/value cache, on the CPU backend in fp32. Rows that share a prompt (the N
 * samples of one question) share its keys and values: each distinct prompt is prefilled once, all its
 * positions in one pass (one GEMM of [prompt tokens, C] per weight, causal attention within the prompt), and
 * every row then decodes from the prompt's cached prefix plus its own cache of generated tokens. A decode step
 * feeds each live row its last token at its own position: per layer three or four GEMMs of [B, C] through
 * OpenBLAS directly ({@link Gemm}: ND4J's op costs more than these small products; plus the rank-r products of
 * LoRA adapters where there are any), the model's own kernels for norms,
 * activations and residuals, and attention over the cache in Java. Attention (decode by row, prefill by prompt)
 * and token choice are split over the engine's threads ({@link RowPools}); no row's arithmetic depends on the
 * split, so one thread and several give the same samples.
 * Every sampled token comes with its log-probability under the model (what a teacher-forced forward pass
 * gives) and under the sampling distribution. Deterministic: each row has its own generator seeded by
 * (seed, row), so a row's tokens do not depend on the rows batched with it.
 */
public final class KvCacheDecoder {

    private final Transformer model;
    private final ModelConfig config;
    private final Kernels kernels;
    private final ParameterStore store;
    /** The LoRA sites on each adapted weight, by weight name; empty without adapters. */
    private final Map<String, List<LoraSite>> adapters;
    private final RopeTable rope;
    private final float[] ropeCos; // [maxSeqLen * headSize/2], null for GPT-2
    private final float[] ropeSin;
    private final boolean gpt2;
    private final float[][] qNorm; // [L][D] Qwen3's per-head q norm weights, null without
    private final float[][] kNorm;
    private final int threads;

    public KvCacheDecoder(Transformer model) {
        if (model.parameters().dataType() != DataType.FLOAT || !KernelChoice.cpuBackend()) {
            throw new IllegalArgumentException("the KV-cache decoder runs in fp32 on the CPU backend; use GreedyDecoder");
        }
        this.model = model;
        this.config = model.config();
        this.kernels = model.kernels();
        this.store = model.parameters();
        this.adapters = adaptersByWeight(model);
        this.gpt2 = config.family() == Family.GPT2;
        this.rope = gpt2 ? null : RopeTable.create(config, DataType.FLOAT);
        this.ropeCos = rope == null ? null : rope.cos().dup().reshape(rope.cos().length()).toFloatVector();
        this.ropeSin = rope == null ? null : rope.sin().dup().reshape(rope.sin().length()).toFloatVector();
        this.qNorm = perLayer(store, config.layers(), "q_norm");
        this.kNorm = perLayer(store, config.layers(), "k_norm");
        this.threads = model.options().threads();
    }

    /**
     * The model's current adapters by the weight they adapt, so samples come from the model that trains (the base
     * weights alone are the frozen model: on-policy distillation with LoRA sampled from it). They are applied
     * beside the base GEMM, x W + s (x A) B, rather than merged: a merged copy of every adapted weight would cost
     * as much memory as the base's matrices. A decoder is made per generation call, after the adapters last changed.
     */
    private static Map<String, List<LoraSite>> adaptersByWeight(Transformer model) {
        Map<String, List<LoraSite>> sites = new HashMap<>();
        LoraLayout lora = model.lora();
        if (lora != null) {
            for (LoraSite site : lora.sites()) {
                sites.computeIfAbsent(site.weight(), name -> new ArrayList<>()).add(site);
            }
        }
        return sites;
    }

    /** out [N, out] = x [N, in] W, plus the adapters on W's column blocks. */
    private void project(INDArray x, String weight, INDArray out) {
        Gemm.gemm(x, tensor(weight), out, false, false, 1.0, 0.0, threads);
        List<LoraSite> sites = adapters.get(weight);
        if (sites == null) {
            return;
        }
        ParameterStore trainable = model.trainableParameters();
        double scale = model.lora().config().scale();
        for (LoraSite site : sites) {
            INDArray low = x.mmul(trainable.tensor(site.aName())); // [N, r]
            INDArray delta = low.mmul(trainable.tensor(site.bName())).muli(scale); // [N, width]
            out.get(NDArrayIndex.all(), NDArrayIndex.interval(site.from(), site.from() + site.width())).addi(delta);
        }
    }

    /** A weight or vector of the base model. */
    private INDArray tensor(String name) {
        INDArray tensor = store.tensor(name);
        if (tensor.dataType() == DataType.FLOAT) {
            return tensor;
        }
        // a half-precision frozen base: the decoder reads fp32, cast once per decoder
        return castCache.computeIfAbsent(name, key -> tensor.castTo(DataType.FLOAT));
    }

    private final Map<String, INDArray> castCache = new java.util.HashMap<>();

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
     * where {@code stop} (may be null) says so. Equal prompts are prefilled once and share their cache.
     */
    public List<Completion> generate(List<int[]> prompts, SamplingConfig sampling, long[] seeds, StopCondition stop) {
        int batch = prompts.size();
        if (seeds.length != batch) {
            throw new IllegalArgumentException(batch + " prompts need " + batch + " seeds, got " + seeds.length);
        }
        if (batch == 0) {
            return List.of();
        }
        for (int[] prompt : prompts) {
            if (prompt.length == 0 || prompt.length > config.maxSeqLen()) {
                throw new IllegalArgumentException("prompts must have 1 to " + config.maxSeqLen() + " tokens");
            }
        }
        // the distinct prompts, and each row's
        Map<List<Integer>, Integer> distinct = new HashMap<>();
        List<int[]> unique = new ArrayList<>();
        int[] promptOf = new int[batch];
        for (int b = 0; b < batch; b++) {
            int[] prompt = prompts.get(b);
            promptOf[b] = distinct.computeIfAbsent(Arrays.stream(prompt).boxed().toList(), key -> {
                unique.add(prompt);
                return unique.size() - 1;
            });
        }
        int[] promptLength = new int[batch];
        for (int b = 0; b < batch; b++) {
            promptLength[b] = prompts.get(b).length;
        }
        Prefix prefix = prefill(unique);
        Decode decode = new Decode(batch, sampling.maxNewTokens());
        int[][] tokens = new int[batch][sampling.maxNewTokens()];
        float[][] logProbs = new float[batch][sampling.maxNewTokens()];
        float[][] samplerLogProbs = new float[batch][sampling.maxNewTokens()];
        float[][] samplerEntropy = new float[batch][sampling.maxNewTokens()];
        int[] generated = new int[batch];
        Completion.Finish[] finish = new Completion.Finish[batch];
        SplittableRandom[] randoms = new SplittableRandom[batch];
        for (int b = 0; b < batch; b++) {
            randoms[b] = new SplittableRandom(seeds[b]);
        }
        INDArray logits = prefix.logits; // [U, V] the first step's; then [B, V]
        float[][] choices = new float[batch][];
        boolean first = true;
        while (true) {
            chooseTokens(logits, first, promptOf, finish, sampling, randoms, choices);
            boolean active = false;
            for (int b = 0; b < batch; b++) {
                if (finish[b] != null) {
                    continue;
                }
                float[] choice = choices[b];
                int token = (int) choice[0];
                int g = generated[b]++;
                tokens[b][g] = token;
                logProbs[b][g] = choice[1];
                samplerLogProbs[b][g] = choice[2];
                samplerEntropy[b][g] = choice[3];
                if (sampling.isStop(token) || (stop != null && stop.stop(b, Arrays.copyOf(tokens[b], g + 1)))) {
                    finish[b] = Completion.Finish.STOP;
                } else if (g + 1 == sampling.maxNewTokens()) {
                    finish[b] = Completion.Finish.LENGTH;
                } else if (promptLength[b] + g >= config.maxSeqLen()) {
                    finish[b] = Completion.Finish.CONTEXT; // the new token's position would pass max_seq_len
                } else {
                    active = true;
                }
            }
            if (!active) {
                break;
            }
            logits = decodeStep(prefix, decode, promptOf, promptLength, tokens, generated, finish);
            first = false;
        }
        List<Completion> completions = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            completions.add(new Completion(Arrays.copyOf(tokens[b], generated[b]),
                    Arrays.copyOf(logProbs[b], generated[b]), Arrays.copyOf(samplerLogProbs[b], generated[b]),
                    finish[b], Arrays.copyOf(samplerEntropy[b], generated[b])));
        }
        return completions;
    }

    /** Work buffers for {@code rows} rows of a pass. */
    private final class Buffers {
        final int rows;
        final INDArray x;
        final INDArray normed;
        final INDArray mean;
        final INDArray rstd;
        final INDArray qkv;
        final INDArray y;
        final INDArray projection;
        final INDArray pre;
        final INDArray act;

        Buffers(int rows) {
            this.rows = rows;
            int c = config.width();
            x = Nd4j.zeros(DataType.FLOAT, rows, c);
            normed = Nd4j.zeros(DataType.FLOAT, rows, c);
            mean = Nd4j.zeros(DataType.FLOAT, rows);
            rstd = Nd4j.zeros(DataType.FLOAT, rows);
            qkv = Nd4j.zeros(DataType.FLOAT, rows, config.qkvWidth());
            y = Nd4j.zeros(DataType.FLOAT, rows, (long) config.heads() * config.headSize());
            projection = Nd4j.zeros(DataType.FLOAT, rows, c);
            pre = Nd4j.zeros(DataType.FLOAT, rows, gpt2 ? config.ffnHidden() : 2L * config.ffnHidden());
            act = Nd4j.zeros(DataType.FLOAT, rows, config.ffnHidden());
        }
    }

    /**
     * The distinct prompts' keys, per layer [U][K][Dp][longest prompt, padded] (transposed: a query's scores
     * against consecutive positions are vector loads), values [U][K][longest][Dp], and the logits [U, V] at each
     * prompt's last position.
     */
    private final class Prefix {
        final int[] lengths;
        final int longest;
        final float[][] keys;
        final float[][] values;
        INDArray logits;

        Prefix(List<int[]> prompts) {
            lengths = prompts.stream().mapToInt(p -> p.length).toArray();
            longest = Arrays.stream(lengths).max().orElse(1);
            int slots = prompts.size() * config.kvHeads() * VectorMath.padded(longest)
                    * VectorMath.padded(config.headSize());
            keys = new float[config.layers()][slots];
            values = new float[config.layers()][slots];
        }

        /** Where the transposed keys of (prompt, kv head) start; position p of dimension d is at + d * stride + p. */
        int keyBase(int prompt, int kv) {
            return (prompt * config.kvHeads() + kv) * VectorMath.padded(config.headSize()) * keyStride();
        }

        int keyStride() {
            return VectorMath.padded(longest);
        }

        int slot(int prompt, int kv, int position) {
            return ((prompt * config.kvHeads() + kv) * longest + position) * VectorMath.padded(config.headSize());
        }
    }

    /** The rows' caches of their own fed tokens, per layer [B][K][max new tokens][Dp], and decode buffers. */
    private final class Decode {
        final int batch;
        final int capacity;
        final float[][] keys;
        final float[][] values;
        final Buffers buffers;
        final INDArray logits;

        Decode(int batch, int maxNew) {
            this.batch = batch;
            this.capacity = maxNew;
            int slots = batch * config.kvHeads() * VectorMath.padded(maxNew) * VectorMath.padded(config.headSize());
            keys = new float[config.layers()][slots];
            values = new float[config.layers()][slots];
            buffers = new Buffers(batch);
            logits = Nd4j.zeros(DataType.FLOAT, batch, config.vocabSize());
        }

        int slot(int row, int kv, int index) {
            return ((row * config.kvHeads() + kv) * capacity + index) * VectorMath.padded(config.headSize());
        }

        /** Where the transposed keys of (row, kv head) start; index i of dimension d is at + d * stride + i. */
        int keyBase(int row, int kv) {
            return (row * config.kvHeads() + kv) * VectorMath.padded(config.headSize()) * keyStride();
        }

        int keyStride() {
            return VectorMath.padded(capacity);
        }
    }

    /** All positions of the distinct prompts in one pass; fills their caches and the last positions' logits. */
    private Prefix prefill(List<int[]> prompts) {
        Prefix prefix = new Prefix(prompts);
        int total = Arrays.stream(prefix.lengths).sum();
        int[] input = new int[total];
        int[] positions = new int[total];
        int at = 0;
        for (int[] prompt : prompts) {
            for (int p = 0; p < prompt.length; p++) {
                input[at] = prompt[p];
                positions[at++] = p;
            }
        }
        Buffers s = new Buffers(total);
        embed(s, input, positions, null);
        for (int layer = 0; layer < config.layers(); layer++) {
            int l = layer;
            block(s, layer, () -> attendPrefix(s, l, prefix));
        }
        // the last position of each prompt: its final norm and the LM head
        int c = config.width();
        INDArray last = Nd4j.zeros(DataType.FLOAT, prompts.size(), c);
        int end = 0;
        for (int u = 0; u < prompts.size(); u++) {
            end += prefix.lengths[u];
            last.putRow(u, s.x.getRow(end - 1));
        }
        Buffers tail = new Buffers(prompts.size());
        tail.x.assign(last);
        prefix.logits = Nd4j.zeros(DataType.FLOAT, prompts.size(), config.vocabSize());
        head(tail, prefix.logits);
        return prefix;
    }

    /**
     * choices[b] = the token chosen for each unfinished row b from its logits (row promptOf[b] of the prefill's on
     * the first step). Rows are split over the engine's threads: each draws from its own random stream, so the
     * choices do not depend on the split.
     */
    private void chooseTokens(INDArray logits, boolean first, int[] promptOf, Completion.Finish[] finish,
                              SamplingConfig sampling, SplittableRandom[] randoms, float[][] choices) {
        FloatBuffer buffer = logits.data().asNioFloat();
        int vocab = config.vocabSize();
        RowPools.run(threads, finish.length, 8L * vocab, (start, end) -> {
            float[] row = new float[VectorMath.padded(vocab)];
            for (int b = start; b < end; b++) {
                if (finish[b] != null) {
                    continue;
                }
                int at = first ? promptOf[b] : b;
                buffer.get((int) logits.offset() + at * vocab, row, 0, vocab);
                choices[b] = TokenChooser.choose(row, vocab, sampling, randoms[b]);
            }
        });
    }

    /** Feeds every live row its last token at its position; returns the logits [B, V]. */
    private INDArray decodeStep(Prefix prefix, Decode decode, int[] promptOf, int[] promptLength, int[][] tokens,
                                int[] generated, Completion.Finish[] finish) {
        int batch = decode.batch;
        int[] input = new int[batch];
        int[] positions = new int[batch];
        boolean[] live = new boolean[batch];
        for (int b = 0; b < batch; b++) {
            live[b] = finish[b] == null;
            if (live[b]) {
                input[b] = tokens[b][generated[b] - 1];
                positions[b] = promptLength[b] + generated[b] - 1;
            }
        }
        Buffers s = decode.buffers;
        embed(s, input, positions, live);
        for (int layer = 0; layer < config.layers(); layer++) {
            int l = layer;
            block(s, layer, () -> attendDecode(s, l, prefix, decode, promptOf, generated, positions, live));
        }
        head(s, decode.logits);
        return decode.logits;
    }

    /** One transformer block over the rows of {@code s}; {@code attention} fills s.y from s.qkv. */
    private void block(Buffers s, int layer, Runnable attention) {
        norm(layer, true, s.x, s);
        project(s.normed, weight(layer, "qkv"), s.qkv);
        attention.run();
        project(s.y, weight(layer, "o"), s.projection);
        kernels.addResidual(s.x, s.projection, gpt2 ? tensor("h." + layer + ".attn.c_proj.bias")
                : optional("layers." + layer + ".bo"), s.x);
        norm(layer, false, s.x, s);
        project(s.normed, weight(layer, "in"), s.pre);
        if (gpt2) {
            kernels.biasGelu(s.pre, tensor("h." + layer + ".mlp.c_fc.bias"), s.act);
        } else if (config.architecture().gelu()) {
            kernels.geglu(s.pre, s.act);
        } else {
            kernels.swiglu(s.pre, s.act);
        }
        project(s.act, weight(layer, "out"), s.projection);
        kernels.addResidual(s.x, s.projection, gpt2 ? tensor("h." + layer + ".mlp.c_proj.bias") : null, s.x);
    }

    /** A variant's optional tensor, null where the variant has none. */
    private INDArray optional(String name) {
        return store.layout().has(name) ? tensor(name) : null;
    }

    /** The final norm and the LM head: logits = norm(x) W^T. */
    private void head(Buffers s, INDArray logits) {
        if (gpt2) {
            kernels.layerNorm(s.x, tensor("ln_f.weight"), tensor("ln_f.bias"), config.normEps(), s.normed,
                    s.mean, s.rstd);
        } else {
            kernels.rmsNorm(s.x, tensor("norm"), config.normEps(), s.normed, s.rstd);
        }
        INDArray head = tensor(config.tiedEmbeddings() ? (gpt2 ? "wte.weight" : "embed") : "lm_head");
        Gemm.gemm(s.normed, head, logits, false, true, 1.0, 0.0, threads);
    }

    /** The name of a block's weight: qkv, o, in (MLP input) or out (MLP output). */
    private String weight(int layer, String which) {
        if (gpt2) {
            String p = "h." + layer + ".";
            return switch (which) {
                case "qkv" -> p + "attn.c_attn.weight";
                case "o" -> p + "attn.c_proj.weight";
                case "in" -> p + "mlp.c_fc.weight";
                default -> p + "mlp.c_proj.weight";
            };
        }
        String p = "layers." + layer + ".";
        return switch (which) {
            case "qkv" -> p + "wqkv";
            case "o" -> p + "wo";
            case "in" -> p + "w_gate_up";
            default -> p + "w_down";
        };
    }

    private void norm(int layer, boolean first, INDArray x, Buffers s) {
        if (gpt2) {
            String p = "h." + layer + (first ? ".ln_1" : ".ln_2");
            kernels.layerNorm(x, tensor(p + ".weight"), tensor(p + ".bias"), config.normEps(), s.normed,
                    s.mean, s.rstd);
        } else {
            kernels.rmsNorm(x, tensor("layers." + layer + (first ? ".attn_norm" : ".ffn_norm")), config.normEps(),
                    s.normed, s.rstd);
        }
    }

    /** Row r gets the embedding of {@code input[r]} (plus GPT-2's position {@code positions[r]}); dead rows zero. */
    private void embed(Buffers s, int[] input, int[] positions, boolean[] live) {
        int c = config.width();
        INDArray table = tensor(gpt2 ? "wte.weight" : "embed");
        FloatBuffer tableBuf = table.data().asNioFloat();
        FloatBuffer out = s.x.data().asNioFloat();
        INDArray positionTable = gpt2 ? tensor("wpe.weight") : null;
        float[] row = new float[c];
        float[] positionRow = new float[c];
        // Gemma's sqrt(C), in fp32 as transformers computes it for fp32 weights
        float scale = config.architecture().scalesEmbedding() ? (float) Math.sqrt(c) : 1f;
        for (int r = 0; r < s.rows; r++) {
            if (live != null && !live[r]) {
                Arrays.fill(row, 0f);
                out.put((int) s.x.offset() + r * c, row, 0, c);
                continue;
            }
            if (input[r] < 0 || input[r] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + input[r] + " is outside the vocabulary");
            }
            tableBuf.get((int) table.offset() + input[r] * c, row, 0, c);
            if (positionTable != null) {
                positionTable.data().asNioFloat().get((int) positionTable.offset() + positions[r] * c, positionRow, 0,
                        c);
                for (int i = 0; i < c; i++) {
                    row[i] += positionRow[i];
                }
            }
            if (scale != 1f) {
                for (int i = 0; i < c; i++) {
                    row[i] *= scale;
                }
            }
            out.put((int) s.x.offset() + r * c, row, 0, c);
        }
    }

    /**
     * Row {@code r}'s q, k and v from s.qkv, with the bias added, q and k normed per head (Qwen3) and rotated at
     * {@code position}.
     */
    private void qkvRow(Buffers s, int layer, int r, int position, float[] row, float[] bias) {
        int width = config.qkvWidth();
        s.qkv.data().asNioFloat().get((int) s.qkv.offset() + r * width, row, 0, width);
        if (bias != null) {
            for (int i = 0; i < width; i++) {
                row[i] += bias[i];
            }
        }
        if (qNorm != null) {
            for (int head = 0; head < config.heads() + config.kvHeads(); head++) {
                rmsNorm(row, head * config.headSize(), head < config.heads() ? qNorm[layer] : kNorm[layer]);
            }
        }
        if (rope != null) {
            int half = config.headSize() / 2;
            for (int head = 0; head < config.heads() + config.kvHeads(); head++) {
                rotate(row, head * config.headSize(), ropeCos, ropeSin, position * half, half);
            }
        }
    }

    /** RMSNorm of the head at row[offset, offset + D) with {@code weight} [D], in place (as the model's kernel). */
    private void rmsNorm(float[] row, int offset, float[] weight) {
        int size = config.headSize();
        double sum = 0;
        for (int d = 0; d < size; d++) {
            sum += row[offset + d] * row[offset + d];
        }
        float inverse = (float) (1.0 / Math.sqrt(sum / size + config.normEps()));
        for (int d = 0; d < size; d++) {
            row[offset + d] = row[offset + d] * inverse * weight[d];
        }
    }

    private float[] qkvBias(int layer) {
        INDArray b = gpt2 ? tensor("h." + layer + ".attn.c_attn.bias") : optional("layers." + layer + ".bqkv");
        return b == null ? null : floats(b);
    }

    private static float[] floats(INDArray vector) {
        float[] values = new float[(int) vector.length()];
        vector.data().asNioFloat().get((int) vector.offset(), values, 0, values.length);
        return values;
    }

    private static float[][] perLayer(ParameterStore store, int layers, String suffix) {
        if (!store.layout().has("layers.0." + suffix)) {
            return null;
        }
        float[][] weights = new float[layers][];
        for (int layer = 0; layer < layers; layer++) {
            weights[layer] = floats(store.tensor("layers." + layer + "." + suffix).castTo(DataType.FLOAT));
        }
        return weights;
    }

    /** Prefill attention: each prompt's positions in order, writing the prompt's cache and attending causally. */
    private void attendPrefix(Buffers s, int layer, Prefix prefix) {
        int size = config.headSize();
        int heads = config.heads();
        int kvHeads = config.kvHeads();
        float[] bias = qkvBias(layer);
        float[] keys = prefix.keys[layer];
        float[] values = prefix.values[layer];
        FloatBuffer yBuf = s.y.data().asNioFloat();
        int prompts = prefix.lengths.length;
        int[] firstRow = new int[prompts + 1]; // prompt u's positions are rows [firstRow[u], firstRow[u + 1])
        for (int u = 0; u < prompts; u++) {
            firstRow[u + 1] = firstRow[u] + prefix.lengths[u];
        }
        // Prompts are independent (each its own cache and rows of y): split over the engine's threads.
        long promptWork = (long) heads * prefix.longest * (prefix.longest + 1) * size;
        RowPools.run(threads, prompts, promptWork, (start, end) -> {
            float[] row = new float[config.qkvWidth()];
            float[] yRow = new float[heads * size];
            CacheAttention attention = new CacheAttention(config.headSize(), prefix.longest);
            for (int u = start; u < end; u++) {
                for (int p = 0, r = firstRow[u]; p < prefix.lengths[u]; p++, r++) {
                    qkvRow(s, layer, r, p, row, bias);
                    for (int kv = 0; kv < kvHeads; kv++) {
                        storeKey(row, (heads + kv) * size, keys, prefix.keyBase(u, kv), prefix.keyStride(), p);
                        System.arraycopy(row, (heads + kvHeads + kv) * size, values, prefix.slot(u, kv, p), size);
                    }
                    for (int head = 0; head < heads; head++) {
                        int kv = head / config.groupSize();
                        attention.run(row, head * size, keys, prefix.keyBase(u, kv), prefix.keyStride(), values,
                                prefix.slot(u, kv, 0), p + 1, null, 0, 0, null, 0, 0, yRow, head * size);
                    }
                    yBuf.put((int) s.y.offset() + r * heads * size, yRow, 0, heads * size);
                }
            }
        });
    }

    /** Decode attention: each live row's new key and value into its own cache, then over prompt + own cache. */
    private void attendDecode(Buffers s, int layer, Prefix prefix, Decode decode, int[] promptOf, int[] generated,
                              int[] positions, boolean[] live) {
        int size = config.headSize();
        int heads = config.heads();
        int kvHeads = config.kvHeads();
        float[] bias = qkvBias(layer);
        float[] keys = decode.keys[layer];
        float[] values = decode.values[layer];
        FloatBuffer yBuf = s.y.data().asNioFloat();
        // Rows are independent (each writes its own cache slots and its own row of y), so they are split over the
        // engine's threads; each row's arithmetic is the same on any split.
        long rowWork = 2L * heads * (prefix.longest + decode.capacity) * size;
        RowPools.run(threads, decode.batch, rowWork, (start, end) -> {
            float[] row = new float[config.qkvWidth()];
            float[] yRow = new float[heads * size];
            CacheAttention attention = new CacheAttention(config.headSize(), prefix.longest + decode.capacity);
            for (int b = start; b < end; b++) {
                if (!live[b]) {
                    Arrays.fill(yRow, 0f);
                    yBuf.put((int) s.y.offset() + b * heads * size, yRow, 0, heads * size);
                    continue;
                }
                qkvRow(s, layer, b, positions[b], row, bias);
                int own = generated[b]; // fed tokens, this one included
                for (int kv = 0; kv < kvHeads; kv++) {
                    storeKey(row, (heads + kv) * size, keys, decode.keyBase(b, kv), decode.keyStride(), own - 1);
                    System.arraycopy(row, (heads + kvHeads + kv) * size, values, decode.slot(b, kv, own - 1), size);
                }
                int u = promptOf[b];
                for (int head = 0; head < heads; head++) {
                    int kv = head / config.groupSize();
                    attention.run(row, head * size, prefix.keys[layer], prefix.keyBase(u, kv), prefix.keyStride(),
                            prefix.values[layer], prefix.slot(u, kv, 0), prefix.lengths[u], keys,
                            decode.keyBase(b, kv), decode.keyStride(), values, decode.slot(b, kv, 0), own, yRow,
                            head * size);
                }
                yBuf.put((int) s.y.offset() + b * heads * size, yRow, 0, heads * size);
            }
        });
    }

    /** Writes a key (row[from, from + headSize)) as column {@code position} of transposed keys at {@code base}. */
    private void storeKey(float[] row, int from, float[] keys, int base, int stride, int position) {
        for (int d = 0; d < config.headSize(); d++) {
            keys[base + d * stride + position] = row[from + d];
        }
    }

    /** Rotates the head at {@code offset} by the angles at cos/sin[at, at + half). */
    private static void rotate(float[] row, int offset, float[] cos, float[] sin, int at, int half) {
        for (int i = 0; i < half; i++) {
            float x0 = row[offset + 2 * i];
            float x1 = row[offset + 2 * i + 1];
            row[offset + 2 * i] = x0 * cos[at + i] - x1 * sin[at + i];
            row[offset + 2 * i + 1] = x0 * sin[at + i] + x1 * cos[at + i];
        }
    }
}
