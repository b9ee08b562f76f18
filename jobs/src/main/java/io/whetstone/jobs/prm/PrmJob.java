package io.whetstone.jobs.prm;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.PrmConfig;
import io.whetstone.jobs.config.TrainSpec;
import io.whetstone.jobs.engine.DistributedTrainer;
import io.whetstone.jobs.engine.LoraTraining;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.engine.RoundLoop;
import io.whetstone.jobs.engine.WorkerSetup;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.preference.ScoreToken;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a process reward model on prm-data's step labels, on the shared update layer: the step loss
 * ({@code StepRewardObjective}: binary cross-entropy of the score token's logit at each step's last token against
 * the step's soft or hard label) from a causal LM, with rounds, checkpoints and resume like every job; exports
 * {@code <run.dir>/process_reward_model} in Hugging Face's token-classification layout. With {@code lora.enabled}
 * only adapters on the frozen LM train (checkpoints hold them alone) and the export is the merged model.
 */
public final class PrmJob {

    private static final Logger LOG = LoggerFactory.getLogger(PrmJob.class);

    private final SparkSession spark;
    private final PrmConfig config;

    public PrmJob(SparkSession spark, PrmConfig config) {
        this.spark = spark;
        this.config = config;
    }

    /** What a run did: its directory, the export, the rounds' first and last loss, the last round's numbers. */
    public record Result(String runDir, String model, int roundsRun, double firstLoss, double lastLoss,
                         Map<String, Object> lastRound) {
    }

    public Result run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        CheckpointStore checkpoints = directory.checkpoints();
        LoraConfig requestedLora = LoraTraining.requested(config.lora(), config.train().seed());
        Optional<CheckpointStore.Loaded> resumed = directory.resume(config.checkpoint().resume(), requestedLora);
        // with adapters the starting model is their frozen base, needed on resume too
        CheckpointStore.ModelAndTokenizer initial = resumed.isPresent() && requestedLora == null ? null
                : ModelSources.load(files, config.model().init());
        Tokenizer tokenizer = resumed.map(CheckpointStore.Loaded::tokenizer).orElseGet(() -> initial.tokenizer());
        ModelConfig model = resumed.map(CheckpointStore.Loaded::config).orElseGet(() -> initial.config());
        int scoreToken = ScoreToken.resolve(config.scoreToken(), tokenizer, model, "score_token");
        int maxLength = Math.min(config.data().seqLen(), model.maxSeqLen());
        JavaRDD<StepRow> rows = StepRowReader.read(context, config.data().path(), tokenizer,
                config.data().labels() + "_labels", maxLength, config.spark().partitions())
                .persist(StorageLevel.MEMORY_AND_DISK());
        long count = rows.count();
        if (count < config.spark().partitions()) {
            throw new IllegalArgumentException(config.data().path() + " has " + count + " solutions with labelled steps; "
                    + "fewer than spark.partitions " + config.spark().partitions());
        }
        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.model().kernels()), threads)
                .withFrozenStorage(config.model().frozenStorage());
        LoraTraining lora = requestedLora == null ? null : LoraTraining.start(context, requestedLora, model,
                initial.params(), config.model().init(), resumed, config.model().frozenStorage());
        if (lora != null) {
            LOG.info(lora.summary());
        }
        TrainSpec train = config.train();
        WorkerSetup setup = new WorkerSetup(model, engine, train.optimizer(), new AdamWConfig(train.beta1(),
                train.beta2(), train.eps(), train.weightDecay(), train.maxGradNorm()), new LrSchedule(train.lr(),
                train.warmupSteps(), Math.max(train.warmupSteps() + 1, train.totalSteps()), train.minLrRatio()),
                train.batchSizePerWorker(), train.averagingFrequency(), train.seed(),
                lora == null ? null : lora.config(), lora == null ? 0 : lora.base().id(), null,
                WorkerSetup.PreferenceSetup.processReward(scoreToken));
        float[] start = lora == null ? (resumed.isPresent() ? null : initial.params()) : lora.initialAdapters();
        TrainingState state = resumed.map(CheckpointStore.Loaded::state).orElseGet(() -> new TrainingState(
                start, new float[OptimizerKind.parse(train.optimizer()).stateNames().size()][start.length], 0));
        int startRound = resumed.map(CheckpointStore.Loaded::round).orElse(0);
        LOG.info("Process reward model from {}: {} solutions with labelled steps ({} labels), score token {}",
                config.model().init(), count, config.data().labels(), scoreToken);
        directory.metrics().append(Map.of("event", resumed.isPresent() ? "resume" : "start", "round", startRound,
                "solutions", count, "params", state.params().length));
        JsonNode resolved = directory.resolved();
        List<String> stateNames = OptimizerKind.parse(train.optimizer()).stateNames();
        Map<String, Object> lastRound = new LinkedHashMap<>();
        RoundLoop.Outcome outcome;
        try (DistributedTrainer<StepRow> trainer = new DistributedTrainer<>(context, rows, StepRows.INSTANCE, setup,
                DistributedTrainer.Mode.parse(train.mode()), "whetstone prm", lora == null ? null : lora.base(),
                null)) {
            outcome = RoundLoop.run(trainer, state, startRound, resumed.map(CheckpointStore.Loaded::path).orElse(null),
                    new RoundLoop.Settings("prm ", train.rounds(), config.checkpoint().everyRounds(),
                            config.debug().failAfterRound()), directory.metrics(),
                    (round, roundState, last) -> {
                        String written = checkpoints.write(round, roundState, model, tokenizer, train.optimizer(),
                                stateNames, resolved, train.seed(), lora == null ? null : lora.checkpoint(), last);
                        checkpoints.prune(config.checkpoint().keepLast());
                        return written;
                    }, report -> {
                        double steps = report.metrics().getOrDefault("steps", 0.0);
                        double accuracy = steps == 0 ? Double.NaN
                                : report.metrics().getOrDefault("step_correct", 0.0) / steps;
                        lastRound.clear();
                        lastRound.put("step_accuracy", accuracy);
                        return new RoundLoop.Extras(Map.of("step_accuracy", accuracy),
                                String.format("  step acc %.3f", accuracy));
                    });
        } finally {
            rows.unpersist(false);
            if (lora != null) {
                lora.close();
            }
            ModelPool.clear();
        }
        float[] modelParams = lora == null ? outcome.state().params() : lora.merge(outcome.state().params());
        Path export = new Path(directory.path(), "process_reward_model");
        try {
            checkpoints.writeProcessRewardModel(export, modelParams, model, tokenizer, scoreToken);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the process reward model to " + export, e);
        }
        LOG.info("Process reward model written in Hugging Face's token-classification layout: {}", export);
        directory.metrics().append(Map.of("event", "end", "rounds_run", outcome.roundsRun(), "model",
                export.toString()));
        return new Result(directory.path(), export.toString(), outcome.roundsRun(), outcome.firstLoss(),
                outcome.lastLoss(), Map.copyOf(lastRound));
    }

}
