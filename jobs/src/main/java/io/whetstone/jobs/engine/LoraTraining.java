package io.whetstone.jobs.engine;

import io.whetstone.jobs.config.LoraSpec;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.lora.LoraLayout;
import io.whetstone.models.lora.LoraWeights;
import io.whetstone.models.train.TrainingState;
import java.util.Optional;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A job's low-rank adapter training, the same for SFT, distillation, DPO and reward models: the adapters'
 * settings (the family's default targets filled in), the frozen base broadcast once for the whole run, the
 * adapters' initial values, the check that a resumed run's adapters were trained on this base, and the
 * merged model at the end. Close it to free the broadcast.
 */
public final class LoraTraining implements AutoCloseable {

    private final ModelConfig model;
    private final LoraConfig config;
    private final CheckpointStore.LoraContext checkpoint;
    private final Broadcast<io.whetstone.models.engine.FrozenParams> base;

    private LoraTraining(ModelConfig model, LoraConfig config, CheckpointStore.LoraContext checkpoint,
                         Broadcast<io.whetstone.models.engine.FrozenParams> base) {
        this.model = model;
        this.config = config;
        this.checkpoint = checkpoint;
        this.base = base;
    }

    /** The adapters {@code spec} asks for (null when disabled), seeded by the run's seed. */
    public static LoraConfig requested(LoraSpec spec, long seed) {
        return spec.enabled() ? new LoraConfig(spec.rank(), spec.alpha(), spec.dropout(), spec.targets(), seed) : null;
    }

    /**
     * Starts adapter training on {@code baseParams} (from {@code baseSource}) of shape {@code model}: checks a
     * resumed checkpoint's base hash and broadcasts the base.
     */
    public static LoraTraining start(JavaSparkContext context, LoraConfig requested, ModelConfig model,
                                     float[] baseParams, String baseSource, Optional<CheckpointStore.Loaded> resumed) {
        return start(context, requested, model, baseParams, baseSource, resumed,
                org.nd4j.linalg.api.buffer.DataType.FLOAT);
    }

    /** As the other {@code start}, the base's matrices broadcast (and kept by workers) as {@code storage}. */
    public static LoraTraining start(JavaSparkContext context, LoraConfig requested, ModelConfig model,
                                     float[] baseParams, String baseSource, Optional<CheckpointStore.Loaded> resumed,
                                     org.nd4j.linalg.api.buffer.DataType storage) {
        LoraConfig lora = requested.forArchitecture(model.architecture());
        resumed.ifPresent(loaded -> requireSameBase(loaded, baseParams));
        CheckpointStore.LoraContext checkpoint = new CheckpointStore.LoraContext(new LoraLayout(model, lora),
                baseParams, baseSource);
        return new LoraTraining(model, lora, checkpoint, context.broadcast(io.whetstone.models.engine.FrozenParams.of(
                baseParams, io.whetstone.models.engine.ParameterLayout.of(model), storage)));
    }

    /** A line for the log: adapters, rank, targets, trainable and frozen sizes. */
    public String summary() {
        long base = checkpoint.base().length;
        return String.format("LoRA: %d adapters of rank %d on %s; %d trainable of %d parameters; the base is "
                        + "broadcast once (%d MB)", checkpoint.layout().sites().size(), config.rank(), config.targets(),
                checkpoint.layout().layout().length(), base, 4L * base / 1_000_000);
    }

    /** The adapters' settings (targets filled in). */
    public LoraConfig config() {
        return config;
    }

    /** What checkpoints need: layout, base and its source. */
    public CheckpointStore.LoraContext checkpoint() {
        return checkpoint;
    }

    /** The frozen base, broadcast once. */
    public Broadcast<io.whetstone.models.engine.FrozenParams> base() {
        return base;
    }

    /** The adapters' values before training (B = 0: the model starts as the base). */
    public float[] initialAdapters() {
        ParameterStore store = new ParameterStore(checkpoint.layout().layout(), DataType.FLOAT);
        store.initialize(config.seed());
        return TrainingState.toFloats(store.params());
    }

    /** The base with {@code adapters} merged in: the trained model. */
    public float[] merge(float[] adapters) {
        return LoraWeights.merge(model, checkpoint.base(), checkpoint.layout(), adapters);
    }

    @Override
    public void close() {
        base.destroy();
    }

    private static void requireSameBase(CheckpointStore.Loaded loaded, float[] base) {
        String expected = loaded.trainerState().path("lora").path("base_sha256").asText("");
        String actual = CheckpointStore.sha256(base);
        if (!expected.equals(actual)) {
            throw new IllegalArgumentException("the adapters of " + loaded.path() + " were trained on a base with hash "
                    + expected + ", but model.init now gives " + actual);
        }
    }
}
