package io.whetstone.jobs.rollout;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.rewards.Reward;
import io.whetstone.datasets.rewards.RewardInput;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.HfFormat;
import io.whetstone.models.checkpoint.Tensor;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.jobs.engine.ModelPool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A reward model as a reward: a transformer checkpoint with a scalar head, laid out as Hugging Face's
 * {@code *ForSequenceClassification} with one label: the base model's tensors plus {@code score.weight}
 * [1, C] (an untied Llama's {@code lm_head} may be absent). The reward of a completion is the head applied
 * to the final normed hidden state of the last token of BOS + prompt + completion. The weights are
 * broadcast once; each executor builds the model on first use and keeps it in its {@link ModelPool}.
 */
public final class ModelReward implements Reward {

    private static final long serialVersionUID = 1L;
    /** Positions of one batched forward pass at most (a single longer sequence runs alone). */
    public static final int BATCH_TOKENS = 4096;

    private final ModelConfig config;
    private final Broadcast<float[]> weights;
    private final float[] head; // [C]
    private final Tokenizer tokenizer;
    private final EngineOptions engine;

    ModelReward(ModelConfig config, Broadcast<float[]> weights, float[] head, Tokenizer tokenizer,
                EngineOptions engine) {
        this.config = config;
        this.weights = weights;
        this.head = head.clone();
        this.tokenizer = tokenizer;
        this.engine = engine;
    }

    /** Loads the reward model directory {@code path} and broadcasts its weights. */
    public static ModelReward load(JavaSparkContext context, HadoopFiles files, String path, EngineOptions engine) {
        try {
            Path dir = new Path(path);
            CheckpointStore.ModelAndTokenizer shape = null;
            Path configFile = new Path(dir, "config.json");
            if (!files.exists(configFile)) {
                throw new IllegalArgumentException("reward model " + path + " is not a model directory: no config.json");
            }
            ModelConfig config = HfFormat.parseConfig(new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(files.readBytes(configFile)), configFile.toString());
            Map<String, Tensor> tensors = new LinkedHashMap<>(ModelSources.tensors(files, dir));
            Tensor score = tensors.get("score.weight");
            if (score == null || !Arrays.equals(score.shape(), new long[] {1, config.width()})) {
                throw new IllegalArgumentException("reward model " + path + " needs a tensor score.weight of shape [1, "
                        + config.width() + "]" + (score == null ? "" : ", got " + Arrays.toString(score.shape())));
            }
            if (!config.tiedEmbeddings() && !tensors.containsKey("lm_head.weight")) {
                // sequence classifiers have no LM head; the engine's is never read for scoring
                tensors.put("lm_head.weight", new Tensor(new long[] {config.vocabSize(), config.width()},
                        new float[config.vocabSize() * config.width()]));
            }
            float[] params = ModelSources.parameters(tensors, config, path);
            Tokenizer tokenizer = CheckpointStore.loadTokenizer(files, path);
            return new ModelReward(config, context.broadcast(params), score.values(), tokenizer, engine);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load reward model " + path, e);
        }
    }

    /** A reward model from parameters already in memory (tests), shipped without a broadcast. */
    public static ModelReward of(JavaSparkContext context, ModelConfig config, float[] params, float[] head,
                          Tokenizer tokenizer, EngineOptions engine) {
        return new ModelReward(config, context.broadcast(params), head, tokenizer, engine);
    }

    @Override
    public double score(RewardInput input) {
        return scorePooled(ids(input));
    }

    /**
     * The rewards of {@code inputs}, with batched forward passes: the sequences sorted by length, then
     * right-padded into batches of at most {@link #BATCH_TOKENS} positions (at least one sequence each). Attention is
     * causal, so the padding after a sequence's last token never reaches it: each value is {@link #score}'s (to
     * rounding; tested).
     */
    @Override
    public double[] scoreAll(List<RewardInput> inputs) {
        int[][] ids = new int[inputs.size()][];
        Integer[] order = new Integer[ids.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = ids(inputs.get(i));
            order[i] = i;
        }
        Arrays.sort(order, java.util.Comparator.comparingInt(i -> ids[i].length));
        double[] out = new double[ids.length];
        ModelPool.Key key = ModelPool.Key.frozen(ModelPool.Role.REWARD_MODEL, config, engine, weights.id());
        Transformer model = ModelPool.acquire(key, weights::value);
        try {
            int start = 0;
            while (start < order.length) {
                int end = start + 1; // sorted by length: the batch's last sequence is its longest
                while (end < order.length && (long) (end - start + 1) * ids[order[end]].length <= BATCH_TOKENS) {
                    end++;
                }
                scoreBatch(model, ids, Arrays.copyOfRange(order, start, end), out);
                start = end;
            }
        } finally {
            ModelPool.release(key, model);
        }
        return out;
    }

    /** Scores the sequences {@code members} (ascending length) in one forward pass into {@code out}. */
    private void scoreBatch(Transformer model, int[][] ids, Integer[] members, double[] out) {
        int batch = members.length;
        int length = ids[members[batch - 1]].length;
        int[] tokens = new int[batch * length]; // [B, T], right-padded with token 0
        for (int b = 0; b < batch; b++) {
            System.arraycopy(ids[members[b]], 0, tokens, b * length, ids[members[b]].length);
        }
        INDArray hidden = model.forwardHidden(tokens, batch, length); // [B*T, C]
        for (int b = 0; b < batch; b++) {
            out[members[b]] = head(hidden.getRow((long) b * length + ids[members[b]].length - 1));
        }
    }

    /** The reward model's tokenizer (with the chat template it was trained with, if any). */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** Longest sequence the model reads. */
    public int maxSeqLen() {
        return config.maxSeqLen();
    }

    /**
     * The reward of a training row (a preference unit's chosen or rejected row), read where the reward-model
     * objective reads it: at the row's last trained input position (the one that predicts its last trained token).
     */
    public double scoreRow(PackedSequence row) {
        int last = -1;
        for (int t = 0; t + 1 < row.ids().length; t++) {
            if (row.targetMask()[t + 1]) {
                last = t;
            }
        }
        if (last < 0) {
            throw new IllegalArgumentException("a row with no trained position has no reward");
        }
        return scorePooled(Arrays.copyOf(row.ids(), last + 1));
    }

    /** BOS + prompt + completion, keeping the end of a sequence longer than the model's context. */
    private int[] ids(RewardInput input) {
        int[] text = tokenizer.encode(input.prompt() + input.completion());
        int length = Math.min(config.maxSeqLen(), text.length + 1);
        int[] ids = new int[length];
        ids[0] = tokenizer.bosId();
        // keep the end of a sequence longer than the model's context: the last token is what is scored
        System.arraycopy(text, text.length - (length - 1), ids, 1, length - 1);
        return ids;
    }

    /** {@link #scoreIds} on this executor's pooled copy of the model. */
    private double scorePooled(int[] ids) {
        ModelPool.Key key = ModelPool.Key.frozen(ModelPool.Role.REWARD_MODEL, config, engine, weights.id());
        Transformer model = ModelPool.acquire(key, weights::value);
        try {
            return scoreIds(model, ids);
        } finally {
            ModelPool.release(key, model);
        }
    }

    /** The head on the final normed hidden state after the last of {@code ids}. */
    private double scoreIds(Transformer model, int[] ids) {
        return head(model.forwardHidden(ids, 1, ids.length).getRow(ids.length - 1));
    }

    /** The scalar head on one final normed hidden state {@code last} [C]. */
    private double head(INDArray last) {
        double value = 0;
        for (int c = 0; c < head.length; c++) {
            value += head[c] * last.getDouble(c);
        }
        return value;
    }
}
