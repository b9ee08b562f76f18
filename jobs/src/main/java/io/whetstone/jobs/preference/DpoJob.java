package io.whetstone.jobs.preference;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.records.PreferenceFormat;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.datasets.spark.PreferencePreparer;
import io.whetstone.datasets.spark.PreferenceSpec;
import io.whetstone.datasets.spark.PreferenceStats;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.config.PreferenceLossSpec;
import io.whetstone.jobs.config.TrainSpec;
import io.whetstone.jobs.engine.DistributedTrainer;
import io.whetstone.jobs.engine.RoundLoop;
import io.whetstone.jobs.engine.LoraTraining;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.jobs.engine.WorkerSetup;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.MetricsLog;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.sft.Tokenizers;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.train.TrainingState;
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
 * Preference optimisation on Spark (DPO, IPO, SimPO, ORPO, KTO): load the policy (or resume its newest
 * checkpoint), validate and tokenize the preference corpus as whole units, attach the frozen reference's
 * log-probs (computed once per corpus and reference, cached), then train in rounds on the shared distributed
 * update, logging the loss's own numbers (implicit rewards, margin, preference accuracy, log-prob drift).
 */
public final class DpoJob {

    private static final Logger LOG = LoggerFactory.getLogger(DpoJob.class);

    private final SparkSession spark;
    private final DpoConfig config;

    public DpoJob(SparkSession spark, DpoConfig config) {
        this.spark = spark;
        this.config = config;
    }

    public DpoResult run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        String runDir = directory.path();
        LOG.info("Preference optimisation ({}) run directory: {}", config.preference().loss(), runDir);

        CheckpointStore checkpoints = directory.checkpoints();
        LoraConfig requestedLora = LoraTraining.requested(config.lora(), config.train().seed());
        Optional<CheckpointStore.Loaded> resumed = directory.resume(config.checkpoint().resume(), requestedLora);
        // with adapters the starting model is their frozen base, needed on resume too
        CheckpointStore.ModelAndTokenizer policy = resumed.isPresent() && requestedLora == null ? null
                : ModelSources.load(files, config.model().init());
        Tokenizer modelTokenizer = resumed.map(CheckpointStore.Loaded::tokenizer).orElseGet(() -> policy.tokenizer());
        // tokenizer.special_tokens maps whetstone's names onto the model's own tokenizer, as in SFT
        Tokenizer mappedTokenizer = Tokenizers.configured(config.tokenizer(), files) == null
                ? modelTokenizer.withSpecialTokens(config.tokenizer().specialTokens()) : modelTokenizer;
        // conversational records are laid out by the model's chat template, a template file, or whetstone's markers
        io.whetstone.jobs.sft.ChatTemplates.Resolved chat = io.whetstone.jobs.sft.ChatTemplates.resolve(
                config.tokenizer(), mappedTokenizer, files, runDir);
        Tokenizer tokenizer = chat.tokenizer();
        if (chat.spec().model().isEmpty()) {
            requireChatMarkersIfConversational(tokenizer);
        }
        ModelConfig modelConfig = resumed.map(CheckpointStore.Loaded::config).orElseGet(() -> policy.config());
        directory.recordLoadedModel(modelConfig);
        checkTokenizerAndLength(files, tokenizer, modelConfig);
        CheckpointStore.ModelAndTokenizer reference = config.preference().usesReference()
                ? reference(files, tokenizer, modelConfig) : null;

        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.model().kernels()), threads)
                .withFrozenStorage(config.model().frozenStorage());
        Units units = units(runDir, tokenizer, chat.spec(), reference, engine);

        LoraTraining lora = requestedLora == null ? null : LoraTraining.start(context, requestedLora, modelConfig,
                policy.params(), config.model().init(), resumed, config.model().frozenStorage());
        if (lora != null) {
            LOG.info(lora.summary());
        }
        TrainSpec train = config.train();
        WorkerSetup setup = new WorkerSetup(modelConfig, engine, train.optimizer(), new AdamWConfig(train.beta1(),
                train.beta2(), train.eps(), train.weightDecay(), train.maxGradNorm()), new LrSchedule(train.lr(),
                train.warmupSteps(), Math.max(train.warmupSteps() + 1, train.totalSteps()), train.minLrRatio()),
                train.batchSizePerWorker(), train.averagingFrequency(), train.seed(),
                lora == null ? null : lora.config(), lora == null ? 0 : lora.base().id(), null,
                preferenceSetup(tokenizer, modelConfig));
        TrainingState state = resumed.map(CheckpointStore.Loaded::state)
                .orElseGet(() -> fresh(lora == null ? policy.params() : lora.initialAdapters()));
        int startRound = resumed.map(CheckpointStore.Loaded::round).orElse(0);
        resumed.ifPresent(loaded -> LOG.info("Resuming from {} (round {}, step {})", loaded.path(), loaded.round(),
                loaded.state().step()));
        MetricsLog metrics = directory.metrics();
        metrics.append(Map.of("event", resumed.isPresent() ? "resume" : "start", "round", startRound, "params",
                state.params().length, "units", units.stats().units(), "rejected", units.stats().rejected(),
                "truncated", units.stats().truncated(), "cache", units.stats().fromCache(), "reference_cache",
                units.referenceCached()));

        JsonNode resolved = directory.resolved();
        List<String> stateNames = OptimizerKind.parse(train.optimizer()).stateNames();
        Map<String, Object> lastRound = new LinkedHashMap<>();
        RoundLoop.Outcome outcome;
        try (DistributedTrainer<PreferenceRow> trainer = new DistributedTrainer<>(context, units.rows(),
                PreferenceRows.INSTANCE, setup, DistributedTrainer.Mode.parse(train.mode()), "whetstone "
                + config.preference().loss(), lora == null ? null : lora.base(), null)) {
            outcome = RoundLoop.run(trainer, state, startRound, resumed.map(CheckpointStore.Loaded::path).orElse(null),
                    new RoundLoop.Settings(config.preference().loss() + " ", train.rounds(),
                            config.checkpoint().everyRounds(), config.debug().failAfterRound()), metrics,
                    (round, roundState, last) -> {
                        String written = checkpoints.write(round, roundState, modelConfig, tokenizer, train.optimizer(),
                                stateNames, resolved, train.seed(), lora == null ? null : lora.checkpoint(), last);
                        checkpoints.prune(config.checkpoint().keepLast());
                        return written;
                    }, report -> {
                        RoundLoop.Extras extras = PreferenceMetrics.of(report.metrics());
                        lastRound.clear();
                        lastRound.putAll(extras.fields());
                        return extras;
                    });
        } finally {
            units.rows().unpersist(false);
            if (lora != null) {
                lora.close();
            }
            ModelPool.clear();
        }
        float[] modelParams = lora == null ? outcome.state().params() : lora.merge(outcome.state().params());
        String rewardModel = config.preference().rewardModel()
                ? exportRewardModel(checkpoints, runDir, modelParams, modelConfig, tokenizer) : null;
        metrics.append(MetricsLog.event("end", "rounds_run", outcome.roundsRun(), "checkpoint",
                outcome.lastCheckpoint()));
        return new DpoResult(runDir, outcome.lastCheckpoint(), modelConfig, modelParams, tokenizer,
                units.stats(), units.referenceCached(), outcome.roundsRun(), outcome.firstLoss(), outcome.lastLoss(),
                Map.copyOf(lastRound), rewardModel);
    }

    /** The tokenized units, persisted, with the reference's log-probs when the loss reads them. */
    private record Units(JavaRDD<PreferenceRow> rows, PreferenceStats stats, boolean referenceCached) {
    }

    /** Validates and tokenizes the corpus (cached), then attaches the reference's log-probs (cached) if needed. */
    private Units units(String runDir, Tokenizer tokenizer, io.whetstone.datasets.records.ChatTemplateSpec chat,
                        CheckpointStore.ModelAndTokenizer reference, EngineOptions engine) {
        int partitions = config.spark().partitions();
        PreferencePreparer.Prepared corpus = new PreferencePreparer(spark).prepare(corpusSpec(runDir), tokenizer,
                chat, partitions, new Path(runDir, "rejects").toString());
        JavaRDD<PreferenceRow> rows = corpus.rows().persist(StorageLevel.MEMORY_AND_DISK());
        if (reference == null) {
            return new Units(rows, corpus.stats(), false);
        }
        ReferenceLogProbCache.Annotated annotated = ReferenceLogProbCache.annotate(spark, rows, partitions,
                corpus.cachePath(), reference, engine);
        rows.unpersist(false);
        return new Units(annotated.units().persist(StorageLevel.MEMORY_AND_DISK()), corpus.stats(),
                annotated.fromCache());
    }

    /** Writes the trained reward model in the sequence-classification layout; returns its directory. */
    private String exportRewardModel(CheckpointStore checkpoints, String runDir, float[] params, ModelConfig model,
                                     Tokenizer tokenizer) {
        Path export = new Path(runDir, "reward_model");
        try {
            checkpoints.writeRewardModel(export, params, model, tokenizer, scoreToken(tokenizer, model));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write the reward model to " + export, e);
        }
        LOG.info("Reward model written in Hugging Face's sequence-classification layout: {}", export);
        return export.toString();
    }

    /** The objective's settings on the executors. */
    private WorkerSetup.PreferenceSetup preferenceSetup(Tokenizer tokenizer, ModelConfig model) {
        PreferenceLossSpec loss = config.preference();
        if (loss.kto()) {
            return WorkerSetup.PreferenceSetup.kto(loss.ktoSettings());
        }
        if (loss.rewardModel()) {
            return WorkerSetup.PreferenceSetup.rewardModel(scoreToken(tokenizer, model));
        }
        return WorkerSetup.PreferenceSetup.pairwise(loss.pairwise());
    }

    /** The reward head's token: preference.score_token, else the tokenizer's pad token, else its end token. */
    int scoreToken(Tokenizer tokenizer, ModelConfig model) {
        return ScoreToken.resolve(config.preference().scoreToken(), tokenizer, model, "preference.score_token");
    }

    private void checkTokenizerAndLength(HadoopFiles files, Tokenizer tokenizer, ModelConfig model) {
        Tokenizer configured = Tokenizers.configured(config.tokenizer(), files);
        if (configured != null && !configured.id().equals(tokenizer.id())) {
            throw new IllegalArgumentException("tokenizer.type " + config.tokenizer().type() + " gives tokenizer "
                    + configured.id() + " but " + config.model().init() + " was trained with " + tokenizer.id()
                    + " (use tokenizer.type=auto to take the model's)");
        }
        if (config.data().seqLen() > model.maxSeqLen()) {
            throw new IllegalArgumentException("data.seq_len " + config.data().seqLen() + " exceeds the model's "
                    + "max_seq_len " + model.maxSeqLen());
        }
    }

    /** The frozen reference, checked to share the policy's tokenizer and shape of vocabulary. */
    private CheckpointStore.ModelAndTokenizer reference(HadoopFiles files, Tokenizer tokenizer, ModelConfig policy) {
        String path = config.referencePath();
        CheckpointStore.ModelAndTokenizer loaded = ModelSources.load(files, path);
        CheckpointStore.ModelAndTokenizer reference = new CheckpointStore.ModelAndTokenizer(loaded.config(),
                loaded.params(), loaded.tokenizer().withSpecialTokens(config.tokenizer().specialTokens()));
        if (!reference.tokenizer().id().equals(tokenizer.id()) || reference.config().vocabSize() != policy.vocabSize()) {
            throw new IllegalArgumentException("reference " + path + " uses tokenizer " + reference.tokenizer().id()
                    + " (vocabulary " + reference.config().vocabSize() + ") but the policy uses " + tokenizer.id()
                    + " (vocabulary " + policy.vocabSize() + "): the reference must score the policy's tokens");
        }
        if (reference.config().maxSeqLen() < config.data().seqLen()) {
            throw new IllegalArgumentException("reference " + path + " has max_seq_len "
                    + reference.config().maxSeqLen() + ", below data.seq_len " + config.data().seqLen());
        }
        return reference;
    }

    private TrainingState fresh(float[] params) {
        int vectors = OptimizerKind.parse(config.train().optimizer()).stateNames().size();
        return new TrainingState(params, new float[vectors][params.length], 0);
    }

    /**
     * One configuration error, before any data is tokenized, when the data's first record is a conversation and
     * the tokenizer lacks whetstone's chat markers (otherwise every conversational record would be rejected alone).
     */
    private void requireChatMarkersIfConversational(Tokenizer tokenizer) {
        try {
            io.whetstone.jobs.sft.SftJob.requireChatMarkers(tokenizer);
            return;
        } catch (IllegalArgumentException missing) {
            PreferenceFormat format = PreferenceFormat.parse(config.data().format());
            java.util.List<io.whetstone.datasets.spark.RawRecord> first = io.whetstone.datasets.spark.CorpusReader.read(
                    spark, config.data().path(), config.data().container(), format.fields(),
                    new io.whetstone.datasets.spark.ColumnMap(config.data().columns())).take(1);
            boolean conversational = false;
            if (!first.isEmpty()) {
                try {
                    com.fasterxml.jackson.databind.JsonNode record = new com.fasterxml.jackson.databind.ObjectMapper()
                            .readTree(first.get(0).json());
                    conversational = record.path("prompt").isArray() || record.path("chosen").isArray();
                } catch (java.io.IOException | RuntimeException unreadable) {
                    return; // validation reports the record itself
                }
            }
            if (conversational) {
                throw new IllegalArgumentException(missing.getMessage().replace("data.format messages",
                        "data.format " + config.data().format() + " with conversations"));
            }
        }
    }

    private PreferenceSpec corpusSpec(String runDir) {
        String cache = config.data().cacheDir().isEmpty()
                ? new Path(new Path(runDir).getParent(), "_cache").toString() : config.data().cacheDir();
        return new PreferenceSpec(config.data().path(), PreferenceFormat.parse(config.data().format()),
                config.data().container(), CorpusSpec.Validation.parse(config.data().validation()),
                config.data().seqLen(), CorpusSpec.Truncation.parse(config.data().truncation()), cache,
                config.data().divergenceWindow(), new io.whetstone.datasets.spark.ColumnMap(config.data().columns()));
    }
}
