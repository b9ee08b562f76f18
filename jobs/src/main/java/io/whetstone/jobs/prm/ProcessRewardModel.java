package io.whetstone.jobs.prm;

import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.HfFormat;
import io.whetstone.models.checkpoint.Tensor;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A process reward model read from Hugging Face's token-classification layout (what the prm job exports:
 * {@code score.*} for Llama, {@code classifier.*} for GPT-2, one label): a step's score is the head applied to
 * the final normed hidden state at the step's last token. The weights are broadcast once; executors take the
 * model from their {@link ModelPool}.
 */
public final class ProcessRewardModel implements Serializable {

    private static final long serialVersionUID = 1L;

    private final ModelConfig config;
    private final Broadcast<float[]> weights;
    private final float[] head; // [C]
    private final float bias;
    private final Tokenizer tokenizer;
    private final EngineOptions engine;
    private final String fingerprint;

    private ProcessRewardModel(ModelConfig config, Broadcast<float[]> weights, float[] head, float bias,
                               Tokenizer tokenizer, EngineOptions engine, String fingerprint) {
        this.fingerprint = fingerprint;
        this.config = config;
        this.weights = weights;
        this.head = head.clone();
        this.bias = bias;
        this.tokenizer = tokenizer;
        this.engine = engine;
    }

    /** Loads the process reward model directory {@code path} and broadcasts its weights. */
    public static ProcessRewardModel load(JavaSparkContext context, HadoopFiles files, String path,
                                          EngineOptions engine) {
        try {
            Path dir = new Path(path);
            Path configFile = new Path(dir, "config.json");
            if (!files.exists(configFile)) {
                throw new IllegalArgumentException("process reward model " + path + " is not a model directory: no "
                        + "config.json");
            }
            ModelConfig config = HfFormat.parseConfig(new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(files.readBytes(configFile)), configFile.toString());
            Map<String, Tensor> tensors = new LinkedHashMap<>(ModelSources.tensors(files, dir));
            String name = tensors.containsKey("classifier.weight") ? "classifier" : "score";
            Tensor weight = tensors.remove(name + ".weight");
            Tensor bias = tensors.remove(name + ".bias");
            if (weight == null || !Arrays.equals(weight.shape(), new long[] {1, config.width()})) {
                throw new IllegalArgumentException("process reward model " + path + " needs a token-classification head "
                        + "score.weight (or classifier.weight) of shape [1, " + config.width() + "]");
            }
            if (!config.tiedEmbeddings() && !tensors.containsKey("lm_head.weight")) {
                tensors.put("lm_head.weight", new Tensor(new long[] {config.vocabSize(), config.width()},
                        new float[config.vocabSize() * config.width()]));
            }
            float[] params = ModelSources.parameters(tensors, config, path);
            Tokenizer tokenizer = CheckpointStore.loadTokenizer(files, path);
            float biasValue = bias == null ? 0f : bias.values()[0];
            String fingerprint = CheckpointStore.sha256(params) + CheckpointStore.sha256(weight.values()) + biasValue;
            return new ProcessRewardModel(config, context.broadcast(params), weight.values(), biasValue, tokenizer,
                    engine, fingerprint);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load process reward model " + path, e);
        }
    }

    /** A hash of the model's weights (keys caches of what it scored). */
    public String fingerprint() {
        return fingerprint;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ModelConfig config() {
        return config;
    }

    /** The score of each labelled step of {@code row} (its {@code ends}); call on an executor. */
    public double[] scores(StepRow row) {
        ModelPool.Key key = ModelPool.Key.frozen(ModelPool.Role.REWARD_MODEL, config, engine, weights.id());
        Transformer model = ModelPool.acquire(key, weights::value);
        try {
            INDArray hidden = model.forwardHidden(row.ids(), 1, row.ids().length); // [L, C]
            double[] scores = new double[row.ends().length];
            for (int k = 0; k < scores.length; k++) {
                double value = bias;
                for (int c = 0; c < head.length; c++) {
                    value += head[c] * hidden.getDouble(row.ends()[k], c);
                }
                scores[k] = value;
            }
            return scores;
        } finally {
            ModelPool.release(key, model);
        }
    }

    /** Frees the broadcast. */
    public void destroy() {
        weights.destroy();
    }
}
