package io.whetstone.models.engine;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.Variant;
import io.whetstone.models.kernels.Kernels;
import io.whetstone.models.kernels.RopeTable;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.lora.LoraLayout;
import io.whetstone.models.lora.LoraSite;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A decoder-only transformer of either family with a hand-written forward and backward: GEMMs through
 * ND4J into preallocated buffers, everything elementwise through {@link Kernels}. Parameters and
 * gradients are views of two flat vectors ({@link ParameterStore}).
 *
 * <p>With low-rank adapters the base parameters are frozen (their weight-gradient GEMMs, the LM head's
 * and the embedding's gradients are skipped) and only the adapters, in their own flat store, train.
 *
 * <p>The contract with objectives: {@link #forward} gives per-token log-probabilities of the targets
 * (and the logits); an objective turns them into a loss and d loss / d log-prob (optionally also
 * d loss / d logits); {@link #backward} accumulates parameter gradients from those. The model never
 * knows which objective runs.
 */
public final class Transformer implements AutoCloseable {

    private final ModelConfig config;
    private final EngineOptions options;
    private final Kernels kernels;
    private final ParameterStore store;
    private final LoraLayout lora; // null without adapters
    private final ParameterStore adapters; // null without adapters
    private final boolean frozen;
    /** Casts frozen half-precision matrices to the compute type as layers use them. */
    private final FrozenWeights half;
    private Long dropoutSeed;
    private double temperature = 1.0;
    private final List<Block> blocks = new ArrayList<>();
    private final Norm finalNorm;
    private final INDArray embedding; // [V, C]
    private final INDArray positions; // [Tmax, C] (GPT-2) or null
    private final INDArray head; // [V, C]
    private final INDArray dEmbedding;
    private final INDArray dPositions;
    private final INDArray dHead;

    private int batch;
    private int seqLen;
    private List<INDArray> stream; // L+1 residual states [N, C]
    private INDArray projection; // [N, C] temporary of the blocks
    private INDArray normedFinal; // [N, C]
    private INDArray logits; // [N, V]
    private INDArray logSumExp; // [N]
    private INDArray logProbs; // [N]
    private INDArray dh; // [N, C]
    private BackwardScratch scratch;
    private int headRows = -1; // rows the head's and backward's buffers are allocated for
    private int[] tokens;
    private int[] targets;
    private boolean backwardReady;

    /** A model with all parameters zero; call {@link #initialize} or load weights into {@link #parameters()}. */
    public Transformer(ModelConfig config, EngineOptions options) {
        this(config, options, null);
    }

    /**
     * A model whose base parameters are frozen and whose low-rank adapters ({@code loraConfig}, may be null
     * for none) train: adapters start as the config says (B = 0, so the model starts as the base).
     */
    public Transformer(ModelConfig config, EngineOptions options, LoraConfig loraConfig) {
        this(config, options, loraConfig, null);
    }

    /**
     * As {@link #Transformer(ModelConfig, EngineOptions, LoraConfig)}, with the tensors of heads on the final
     * hidden states ({@code heads}, e.g. PPO's value head; null for none) appended to the parameter store, so
     * that they train, average and checkpoint with the model as one flat vector (the model's tensors first).
     * Heads train with the whole model; adapters with heads are not supported.
     */
    public Transformer(ModelConfig config, EngineOptions options, LoraConfig loraConfig, ParameterLayout heads) {
        this(config, options, loraConfig, heads, false);
    }

    /**
     * A model that only runs forward (a reference, a teacher, a reward model): no gradient storage for its
     * matrices, which are kept as {@link EngineOptions#frozenStorage} says.
     */
    public static Transformer frozen(ModelConfig config, EngineOptions options) {
        return new Transformer(config, options, null, null, true);
    }

    private Transformer(ModelConfig config, EngineOptions options, LoraConfig loraConfig, ParameterLayout heads,
                        boolean forwardOnly) {
        if (heads != null && loraConfig != null) {
            throw new IllegalArgumentException("heads train with the whole model: LoRA adapters with a head on the "
                    + "hidden states are not supported");
        }
        this.config = config;
        this.options = options;
        DataType dataType = options.dataType();
        this.kernels = options.kernels().create(dataType, options.threads());
        // a frozen base (LoRA) computes no matrix gradients, so it keeps no storage for them
        boolean frozenBase = loraConfig != null || forwardOnly;
        this.store = new ParameterStore(heads == null ? ParameterLayout.of(config)
                : ParameterLayout.concat(ParameterLayout.of(config), heads), dataType, frozenBase,
                frozenBase ? options.frozenStorage() : dataType);
        this.half = new FrozenWeights(dataType, options.threads());
        this.lora = loraConfig == null ? null : new LoraLayout(config, loraConfig);
        this.adapters = lora == null ? null : new ParameterStore(lora.layout(), dataType);
        if (adapters != null) {
            adapters.initialize(loraConfig.seed());
        }
        this.frozen = frozenBase;
        boolean gpt2 = config.family() == Family.GPT2;
        RopeTable rope = gpt2 ? null
                : RopeTable.create(config, dataType);
        for (int i = 0; i < config.layers(); i++) {
            blocks.add(gpt2 ? gpt2Block(i) : llamaBlock(i, rope));
        }
        if (gpt2) {
            finalNorm = new Norm(Family.GPT2, kernels, config.normEps(), store, "ln_f");
            embedding = store.tensor("wte.weight");
            dEmbedding = store.gradient("wte.weight");
            positions = store.tensor("wpe.weight");
            dPositions = store.gradient("wpe.weight");
        } else {
            finalNorm = new Norm(Family.LLAMA, kernels, config.normEps(), store, "norm");
            embedding = store.tensor("embed");
            dEmbedding = store.gradient("embed");
            positions = null;
            dPositions = null;
        }
        String headName = config.tiedEmbeddings() ? (gpt2 ? "wte.weight" : "embed") : "lm_head";
        head = store.tensor(headName);
        dHead = store.gradient(headName);
    }

    /** The projection through weight {@code name}, with the adapters on it. */
    private Projection projection(String name) {
        List<Adapter> list = new ArrayList<>();
        if (lora != null) {
            for (LoraSite site : lora.sitesOf(name)) {
                list.add(new Adapter(adapters.tensor(site.aName()), adapters.tensor(site.bName()),
                        adapters.gradient(site.aName()), adapters.gradient(site.bName()), site.from(), site.width(),
                        lora.config().scale(), lora.config().dropout()));
            }
        }
        return new Projection(store.tensor(name), store.gradient(name), frozen, list, half);
    }

    private Block gpt2Block(int i) {
        String p = "h." + i + ".";
        Attention attention = new Attention(config, kernels, null, projection(p + "attn.c_attn.weight"),
                store.tensor(p + "attn.c_attn.bias"), store.gradient(p + "attn.c_attn.bias"),
                projection(p + "attn.c_proj.weight"), null);
        FeedForward mlp = new FeedForward(FeedForward.Kind.GELU, kernels, config.ffnHidden(), projection(p + "mlp.c_fc.weight"),
                store.tensor(p + "mlp.c_fc.bias"), store.gradient(p + "mlp.c_fc.bias"),
                projection(p + "mlp.c_proj.weight"));
        return new Block(kernels, config.width(),
                new Norm(Family.GPT2, kernels, config.normEps(), store, p + "ln_1"), attention,
                new Norm(Family.GPT2, kernels, config.normEps(), store, p + "ln_2"), mlp,
                store.tensor(p + "attn.c_proj.bias"), store.tensor(p + "mlp.c_proj.bias"),
                store.gradient(p + "attn.c_proj.bias"), store.gradient(p + "mlp.c_proj.bias"));
    }

    private Block llamaBlock(int i, RopeTable rope) {
        String p = "layers." + i + ".";
        Variant variant = config.variant();
        QkNorm qkNorm = variant.qkNorm() ? new QkNorm(kernels, config.normEps(), config.heads(), config.kvHeads(),
                config.headSize(), store, p) : null;
        Attention attention = new Attention(config, kernels, rope, projection(p + "wqkv"),
                optional(p + "bqkv", false), optional(p + "bqkv", true), projection(p + "wo"), qkNorm);
        FeedForward mlp = new FeedForward(variant.architecture().gelu() ? FeedForward.Kind.GEGLU
                : FeedForward.Kind.SWIGLU, kernels, config.ffnHidden(), projection(p + "w_gate_up"),
                null, null, projection(p + "w_down"));
        return new Block(kernels, config.width(),
                new Norm(Family.LLAMA, kernels, config.normEps(), store, p + "attn_norm"), attention,
                new Norm(Family.LLAMA, kernels, config.normEps(), store, p + "ffn_norm"), mlp,
                optional(p + "bo", false), null, optional(p + "bo", true), null);
    }

    /** A variant's optional tensor (or its gradient), null where the variant has none. */
    private INDArray optional(String name, boolean gradient) {
        if (!store.layout().has(name)) {
            return null;
        }
        return gradient ? store.gradient(name) : store.tensor(name);
    }

    public ModelConfig config() {
        return config;
    }

    public EngineOptions options() {
        return options;
    }

    /** The base model's parameters (frozen when adapters train). */
    public ParameterStore parameters() {
        return store;
    }

    /** The parameters that train: the adapters when there are any, the base model otherwise. */
    public ParameterStore trainableParameters() {
        return adapters != null ? adapters : store;
    }

    /** The adapters' layout, or null without adapters. */
    public LoraLayout lora() {
        return lora;
    }

    /**
     * Seeds the adapters' dropout for the next forward passes (null turns dropout off, e.g. for evaluation).
     * Trainers derive it from the optimiser step, so a retried or resumed step drops the same inputs.
     */
    public void setDropoutSeed(Long seed) {
        this.dropoutSeed = seed;
    }

    /**
     * Scores tokens under softmax(logits / temperature) from the next forward on (1 by default): RL trains
     * the distribution it samples from when sampling runs at another temperature. Logits, log-probs and
     * gradients all refer to the scaled logits.
     */
    public void setTemperature(double temperature) {
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0: " + temperature);
        }
        this.temperature = temperature;
    }

    public double temperature() {
        return temperature;
    }

    /** Fills the parameters with the family's initialisation from {@code seed}. */
    public void initialize(long seed) {
        store.initialize(seed);
    }

    /** The kernels in use (for benchmarks and reports). */
    public Kernels kernels() {
        return kernels;
    }

    private void allocate(int newBatch, int newSeqLen) {
        if (newBatch == batch && newSeqLen == seqLen) {
            return;
        }
        DataType dataType = options.dataType();
        int rows = newBatch * newSeqLen;
        for (Block block : blocks) {
            block.allocate(newBatch, newSeqLen, dataType);
        }
        finalNorm.allocate(rows, dataType);
        stream = new ArrayList<>();
        for (int i = 0; i <= config.layers(); i++) {
            stream.add(Nd4j.zeros(dataType, rows, config.width()));
        }
        projection = Nd4j.zeros(dataType, rows, config.width());
        normedFinal = Nd4j.zeros(dataType, rows, config.width());
        batch = newBatch;
        seqLen = newSeqLen;
    }

    /**
     * The LM head's and the backward's buffers for the current rows, allocated apart from the trunk's: a
     * hidden-states-only pass never needs the [N, V] logits, which dominate memory with a large vocabulary.
     */
    private void allocateHead() {
        int rows = batch * seqLen;
        if (headRows == rows) {
            return;
        }
        DataType dataType = options.dataType();
        logits = Nd4j.zeros(dataType, rows, config.vocabSize());
        logSumExp = Nd4j.zeros(dataType, rows);
        logProbs = Nd4j.zeros(dataType, rows);
        dh = Nd4j.zeros(dataType, rows, config.width());
        scratch = new BackwardScratch(dataType, rows);
        headRows = rows;
    }

    /**
     * Runs the model over {@code tokens} [B*T] (row-major [B, T]) and scores {@code targets} [B*T]
     * (a negative target means none). Keeps what the backward needs.
     */
    public ForwardPass forward(int[] tokens, int[] targets, int batch, int seqLen) {
        validate(tokens, targets, batch, seqLen);
        trunk(tokens, targets, batch, seqLen);
        allocateHead();
        if (half.isHalf(head)) {
            headHalf(false, null);
        } else {
            Nd4j.gemm(normedFinal, head, logits, false, true, 1.0 / temperature, 0.0); // [N, V] = h W^T / temperature
        }
        kernels.targetLogProbs(logits, this.targets, logProbs, logSumExp);
        backwardReady = true;
        return new ForwardPass(logProbs.reshape(batch, seqLen), logits, this.targets, batch, seqLen, normedFinal);
    }

    /**
     * Runs the model over {@code tokens} [B*T] up to the final norm only, for a head that reads the hidden states
     * (a reward or process reward model's score): no LM head and no log-probabilities (with a large vocabulary,
     * most of a small model's work), and no backward after it. Returns {@link #finalHidden()} [B*T, C], what
     * {@link #forward} leaves there (tested).
     */
    public INDArray forwardHidden(int[] tokens, int batch, int seqLen) {
        int[] none = new int[tokens.length];
        java.util.Arrays.fill(none, -1);
        validate(tokens, none, batch, seqLen);
        trunk(tokens, none, batch, seqLen);
        backwardReady = false;
        return normedFinal;
    }

    /** Embedding, blocks and final norm: the final normed hidden states [B*T, C] into {@code normedFinal}. */
    private void trunk(int[] tokens, int[] targets, int batch, int seqLen) {
        allocate(batch, seqLen);
        this.tokens = tokens.clone();
        this.targets = targets.clone();
        if (half.isHalf(embedding)) {
            embedHalf(stream.get(0));
        } else {
            kernels.embed(this.tokens, embedding, positions, seqLen, stream.get(0));
        }
        if (config.architecture().scalesEmbedding()) {
            stream.get(0).muli(embeddingScale());
        }
        for (int i = 0; i < blocks.size(); i++) {
            blocks.get(i).forward(stream.get(i), stream.get(i + 1), projection,
                    dropoutSeed == null ? null : dropoutSeed * 1_000_003L + i * 17L);
        }
        finalNorm.forward(stream.get(blocks.size()), normedFinal);
    }

    private void validate(int[] tokens, int[] targets, int batch, int seqLen) {
        if (batch < 1 || seqLen < 1) {
            throw new IllegalArgumentException("batch and sequence length must be >= 1: " + batch + "x" + seqLen);
        }
        if (seqLen > config.maxSeqLen()) {
            throw new IllegalArgumentException("sequence length " + seqLen + " exceeds max_seq_len " + config.maxSeqLen());
        }
        if (tokens.length != batch * seqLen || targets.length != batch * seqLen) {
            throw new IllegalArgumentException("expected " + batch * seqLen + " tokens and targets, got "
                    + tokens.length + " and " + targets.length);
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + tokens[i] + " at position " + i
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            if (targets[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("target " + targets[i] + " at position " + i
                        + " is outside the vocabulary [0, " + config.vocabSize() + ")");
            }
        }
    }

    /**
     * Accumulates parameter gradients (+=) of a loss given d loss / d logProbs [B, T] and optionally
     * d loss / d logits [N, V] (null for none). Consumes the last forward: the logits become their
     * gradient.
     */
    public void backward(INDArray dLogProbs, INDArray dLogits) {
        backward(dLogProbs, dLogits, null);
    }

    /**
     * The final normed hidden states [N, C] of the last forward (what the LM head reads; a value or score
     * head reads them too). A view of the model's buffer, overwritten by the next forward.
     */
    public INDArray finalHidden() {
        if (normedFinal == null) {
            throw new IllegalStateException("no forward has run");
        }
        return normedFinal;
    }

    /**
     * As {@link #backward(INDArray, INDArray)}, plus {@code dHidden} [N, C] (null for none): the gradient of
     * a head on {@link #finalHidden()} (a value head), added where the LM head's gradient arrives.
     */
    public void backward(INDArray dLogProbs, INDArray dLogits, INDArray dHidden) {
        if (!backwardReady) {
            throw new IllegalStateException("backward needs a forward first (each forward allows one backward)");
        }
        backwardReady = false;
        kernels.logitsBackward(logits, logSumExp, targets, dLogProbs.reshape(logProbs.length()), dLogits);
        if (!frozen) {
            Nd4j.gemm(logits, normedFinal, dHead, true, false, 1.0 / temperature, 1.0);
        }
        INDArray dNormed = scratch.rows("head.dnormed", config.width());
        if (half.isHalf(head)) {
            headHalf(true, dNormed);
        } else {
            Nd4j.gemm(logits, head, dNormed, false, false, 1.0 / temperature, 0.0);
        }
        if (dHidden != null) {
            dNormed.addi(dHidden);
        }
        dh.assign(0);
        finalNorm.backward(dNormed, stream.get(blocks.size()), dh);
        for (int i = blocks.size() - 1; i >= 0; i--) {
            blocks.get(i).backward(stream.get(i), dh, scratch);
        }
        if (!frozen) {
            if (config.architecture().scalesEmbedding()) {
                dh.muli(embeddingScale());
            }
            kernels.embedBackward(tokens, dh, dEmbedding, dPositions, seqLen);
        }
    }

    /** The embedding lookup from a half-precision table: rows cast one by one, plus GPT-2's positions. */
    private void embedHalf(INDArray out) {
        FrozenWeights.gather(embedding, tokens, out); // [N, C]
        if (positions != null) {
            int[] positionIds = new int[tokens.length];
            for (int i = 0; i < tokens.length; i++) {
                positionIds[i] = i % seqLen;
            }
            INDArray added = Nd4j.create(out.dataType(), out.shape());
            FrozenWeights.gather(positions, positionIds, added);
            out.addi(added);
        }
    }

    /**
     * The LM head with a half-precision weight, a block of vocabulary rows at a time (no full fp32 copy):
     * forward logits [N, V] = h W^T / temperature; backward dNormed [N, C] = dLogits W / temperature.
     */
    private void headHalf(boolean backward, INDArray dNormed) {
        long vocab = head.size(0);
        long rows = normedFinal.size(0);
        if (backward) {
            dNormed.assign(0);
        }
        for (long from = 0; from < vocab; from += FrozenWeights.BLOCK_ROWS) {
            long to = Math.min(vocab, from + FrozenWeights.BLOCK_ROWS);
            INDArray block = half.of(head.get(NDArrayIndex.interval(from, to), NDArrayIndex.all())); // [b, C]
            INDArray columns = logits.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to)); // [N, b] view
            INDArray product = half.products(rows, to - from); // [N, b] contiguous
            if (backward) {
                product.assign(columns);
                Nd4j.gemm(product, block, dNormed, false, false, 1.0 / temperature, 1.0);
            } else {
                Nd4j.gemm(normedFinal, block, product, false, true, 1.0 / temperature, 0.0);
                columns.assign(product);
            }
        }
    }

    /**
     * Gemma's factor on the token embedding, sqrt(C), rounded to the model's precision as transformers does
     * (it builds the factor as a tensor of the hidden states' dtype).
     */
    private double embeddingScale() {
        double scale = Math.sqrt(config.width());
        return options.dataType() == DataType.DOUBLE ? scale : (float) scale;
    }

    @Override
    public void close() {
        if (kernels instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing kernels failed", e);
            }
        }
    }
}
