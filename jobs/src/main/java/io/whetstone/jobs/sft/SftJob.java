package io.whetstone.jobs.sft;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.datasets.records.Format;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.ModelSpec;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.config.TrainSpec;
import io.whetstone.jobs.engine.DistributedTrainer;
import io.whetstone.jobs.engine.HeldOutLoss;
import io.whetstone.jobs.engine.PackedRows;
import io.whetstone.jobs.engine.RoundLoop;
import io.whetstone.jobs.engine.LoraTraining;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.distill.TeacherTopKCache;
import io.whetstone.jobs.engine.WorkerSetup;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.MetricsLog;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Supervised fine-tuning on Spark: validate and tokenize the corpus (cached), initialise or load the
 * model (or resume the newest complete checkpoint), then train in rounds across the partitions,
 * checkpointing as configured and logging one metrics line per round.
 */
public final class SftJob {

    private static final Logger LOG = LoggerFactory.getLogger(SftJob.class);

    private final SparkSession spark;
    private final SftConfig config;

    public SftJob(SparkSession spark, SftConfig config) {
        this.spark = spark;
        this.config = config;
    }

    public SftResult run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        String runDir = directory.path();
        JsonNode resolved = directory.resolved();
        LOG.info("SFT run directory: {}", runDir);

        Tokenizer configured = Tokenizers.configured(config.tokenizer(), files);
        CheckpointStore checkpoints = directory.checkpoints();
        LoraConfig requestedLora = LoraTraining.requested(config.lora(), config.train().seed());
        Optional<CheckpointStore.Loaded> resumed = directory.resume(config.checkpoint().resume(), requestedLora);
        CheckpointStore.ModelAndTokenizer initial = resumed.isPresent() ? null
                : initialModel(files, configured != null ? configured : new io.whetstone.datasets.tokenize.ByteTokenizer());
        Tokenizer modelTokenizer = resumed.isPresent() ? resumed.get().tokenizer() : initial.tokenizer();
        // tokenizer.special_tokens maps whetstone's names onto the model's own tokenizer (a GGUF or model
        // directory's); checkpoints keep the mapping
        Tokenizer mappedTokenizer = configured == null
                ? modelTokenizer.withSpecialTokens(config.tokenizer().specialTokens()) : modelTokenizer;
        if (configured != null && !configured.id().equals(mappedTokenizer.id())) {
            throw new IllegalArgumentException("tokenizer.type " + config.tokenizer().type() + " gives tokenizer "
                    + configured.id() + " but the model was trained with " + mappedTokenizer.id()
                    + " (use tokenizer.type=auto to take the model's)");
        }
        ChatTemplates.Resolved chat = Format.parse(config.data().format()) == Format.MESSAGES
                ? ChatTemplates.resolve(config.tokenizer(), mappedTokenizer, files, runDir)
                : new ChatTemplates.Resolved(new io.whetstone.datasets.records.ChatTemplateSpec(), mappedTokenizer);
        Tokenizer tokenizer = chat.tokenizer(); // carries a template file's text into checkpoints
        if (Format.parse(config.data().format()) == Format.MESSAGES && chat.spec().model().isEmpty()) {
            requireChatMarkers(tokenizer);
        }
        ModelConfig modelConfig = resumed.map(CheckpointStore.Loaded::config).orElseGet(() -> initial.config());
        directory.recordLoadedModel(modelConfig);
        LOG.info("Model: {} ({} parameters)", modelConfig.family(),
                io.whetstone.models.engine.ParameterLayout.of(modelConfig).length());
        if (tokenizer.vocabSize() > modelConfig.vocabSize()) {
            throw new IllegalArgumentException("tokenizer " + tokenizer.id() + " has " + tokenizer.vocabSize()
                    + " ids but the model's vocabulary has " + modelConfig.vocabSize());
        }
        if (config.data().seqLen() > modelConfig.maxSeqLen()) {
            throw new IllegalArgumentException("data.seq_len " + config.data().seqLen() + " exceeds the model's "
                    + "max_seq_len " + modelConfig.maxSeqLen());
        }

        // A teacher with another tokenizer is refused before the corpus is read.
        CheckpointStore.ModelAndTokenizer loadedTeacher = config.distill().enabled()
                ? teacher(files, tokenizer, modelConfig) : null;

        int partitions = config.spark().partitions();
        CorpusSpec trainSpec = config.eval().split() ? corpusSpec(runDir).withSplit(config.eval().fraction(), false)
                : corpusSpec(runDir);
        CorpusPreparer.Prepared corpus = new CorpusPreparer(spark).prepare(trainSpec, tokenizer, chat.spec(), partitions,
                new Path(runDir, "rejects").toString());
        JavaRDD<io.whetstone.datasets.pack.PackedSequence> shards = corpus.rows().persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<io.whetstone.datasets.pack.PackedSequence> heldOut = config.eval().enabled()
                ? new CorpusPreparer(spark).prepare(config.eval().split()
                        ? corpusSpec(runDir).withSplit(config.eval().fraction(), true)
                        : corpusSpec(runDir, config.eval().path()), tokenizer, chat.spec(), partitions,
                new Path(runDir, "rejects-eval").toString()).rows().persist(StorageLevel.MEMORY_AND_DISK()) : null;

        LoraTraining loraTraining = null;
        if (requestedLora != null) {
            // The frozen base: the starting model (reloaded on resume and checked against the checkpoint).
            float[] baseParams = (initial != null ? initial : initialModel(files, tokenizer)).params();
            loraTraining = LoraTraining.start(context, requestedLora, modelConfig, baseParams, config.model().init(),
                    resumed, config.model().frozenStorage());
            LOG.info(loraTraining.summary());
        }
        LoraConfig lora = loraTraining == null ? null : loraTraining.config();
        CheckpointStore.LoraContext loraContext = loraTraining == null ? null : loraTraining.checkpoint();
        Broadcast<io.whetstone.models.engine.FrozenParams> base = loraTraining == null ? null : loraTraining.base();

        Broadcast<io.whetstone.models.engine.FrozenParams> teacherParams = null;
        WorkerSetup.TeacherSetup teacher = null;
        int topK = config.distill().topK();
        if (loadedTeacher != null) {
            CheckpointStore.ModelAndTokenizer loaded = loadedTeacher;
            long broadcastId = 0;
            if (topK > 0) {
                int cacheThreads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
                TeacherTopKCache.Annotated annotated = TeacherTopKCache.annotate(spark, shards, partitions,
                        corpus.cachePath(), loaded, topK, config.distill().temperature(),
                        new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.model().kernels()), cacheThreads)
                                .withFrozenStorage(config.model().frozenStorage()));
                shards.unpersist(false);
                shards = annotated.rows().persist(StorageLevel.MEMORY_AND_DISK());
            } else {
                teacherParams = context.broadcast(io.whetstone.models.engine.FrozenParams.of(loaded.params(),
                        ParameterLayout.of(loaded.config()), config.model().frozenStorage()));
                broadcastId = teacherParams.id();
            }
            teacher = new WorkerSetup.TeacherSetup(loaded.config(), config.distill().loss(), config.distill().ceWeight(),
                    broadcastId, topK, config.distill().onPolicyFraction(), tokenizer.eosId());
            LOG.info("Distilling from {} ({} parameters; the student has {}): {} at temperature {}, cross-entropy "
                            + "weight {}, {}", config.distill().teacher(), loaded.params().length,
                    ParameterLayout.of(modelConfig).length(), config.distill().divergence(),
                    config.distill().temperature(), config.distill().ceWeight(), topK > 0
                            ? "on the teacher's top-" + topK + " (precomputed once per corpus)"
                            : "teacher broadcast once and run on every batch"
                            + (config.distill().onPolicyFraction() > 0 ? ", " + config.distill().onPolicyFraction()
                            + " of the steps on the student's own samples" : ""));
        }

        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        TrainSpec train = config.train();
        WorkerSetup setup = new WorkerSetup(modelConfig,
                new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.model().kernels()), threads)
                        .withFrozenStorage(config.model().frozenStorage()),
                train.optimizer(), new AdamWConfig(train.beta1(), train.beta2(), train.eps(), train.weightDecay(),
                train.maxGradNorm()), new LrSchedule(train.lr(), train.warmupSteps(),
                Math.max(train.warmupSteps() + 1, train.totalSteps()), train.minLrRatio()),
                train.batchSizePerWorker(), train.averagingFrequency(), train.seed(), lora, base == null ? 0 : base.id(),
                teacher);
        CheckpointStore.LoraContext adapters = loraContext;
        LoraTraining initialLora = loraTraining;
        TrainingState state = resumed.map(CheckpointStore.Loaded::state)
                .orElseGet(() -> freshState(adapters == null ? initial.params() : initialLora.initialAdapters(),
                        train.optimizer()));
        int startRound = resumed.map(CheckpointStore.Loaded::round).orElse(0);
        if (resumed.isPresent()) {
            LOG.info("Resuming from {} (round {}, step {})", resumed.get().path(), startRound, state.step());
        }
        List<String> stateNames = OptimizerKind.parse(train.optimizer()).stateNames();
        MetricsLog metrics = directory.metrics();
        metrics.append(Map.of("event", resumed.isPresent() ? "resume" : "start", "round", startRound,
                "params", state.params().length, "corpus_rows", corpus.stats().rows(), "corpus_examples",
                corpus.stats().examples(), "rejected", corpus.stats().rejected(), "truncated", corpus.stats().truncated(),
                "cache", corpus.stats().fromCache()));

        CheckpointStore.LoraContext checkpointLora = loraContext;
        Broadcast<io.whetstone.models.engine.FrozenParams> evalTeacher = teacherParams;
        java.util.function.BiFunction<Integer, float[], RoundLoop.Extras> heldOutAt = (round, params) -> {
            HeldOutLoss.Result held = HeldOutLoss.evaluate(context, heldOut, setup, params, base, evalTeacher,
                    "whetstone sft: held-out loss at round " + round);
            return new RoundLoop.Extras(Map.of("eval_loss", held.loss(), "eval_ppl", held.perplexity(),
                    "eval_tokens", held.tokens()), String.format("  held-out loss %.4f (ppl %.2f)", held.loss(),
                    held.perplexity()));
        };
        if (heldOut != null && startRound == 0) {
            RoundLoop.Extras before = heldOutAt.apply(0, state.params());
            LOG.info("Held-out before training:{}", before.logSuffix());
            Map<String, Object> line = new java.util.LinkedHashMap<>(before.fields());
            line.put("event", "eval");
            line.put("round", 0);
            metrics.append(line);
        }
        RoundLoop.Outcome outcome;
        try (DistributedTrainer<io.whetstone.datasets.pack.PackedSequence> trainer = new DistributedTrainer<>(context,
                shards, PackedRows.INSTANCE, setup, DistributedTrainer.Mode.parse(train.mode()),
                teacher == null ? "whetstone sft" : "whetstone distill", base, teacherParams)) {
            outcome = RoundLoop.run(trainer, state, startRound, resumed.map(CheckpointStore.Loaded::path).orElse(null),
                    new RoundLoop.Settings("", train.rounds(), config.checkpoint().everyRounds(),
                            config.debug().failAfterRound()), metrics, (round, roundState, last) -> {
                        String written = checkpoints.write(round, roundState, modelConfig, tokenizer, train.optimizer(),
                                stateNames, resolved, train.seed(), checkpointLora, last);
                        checkpoints.prune(config.checkpoint().keepLast());
                        return written;
                    }, report -> config.eval().due(report.round(), train.rounds())
                            ? heldOutAt.apply(report.round(), report.state().params()) : RoundLoop.Extras.NONE);
        } finally {
            shards.unpersist(false);
            if (heldOut != null) {
                heldOut.unpersist(false);
            }
            if (loraTraining != null) {
                loraTraining.close();
            }
            if (teacherParams != null) {
                teacherParams.destroy();
            }
            ModelPool.clear();
        }
        state = outcome.state();
        String lastCheckpoint = outcome.lastCheckpoint();
        int run = outcome.roundsRun();
        metrics.append(MetricsLog.event("end", "rounds_run", run, "checkpoint", lastCheckpoint));
        float[] modelParams = loraTraining == null ? state.params() : loraTraining.merge(state.params());
        return new SftResult(runDir, lastCheckpoint, modelConfig, state, modelParams, tokenizer, corpus.stats(), run,
                outcome.firstLoss(), outcome.lastLoss(), outcome.meanAveragingSeconds(), outcome.meanRoundSeconds(),
                outcome.bytesPerRound(), (long) outcome.tokens());
    }


    /**
     * One configuration error, before any data is read, when {@code messages} data needs chat markers the tokenizer
     * lacks (instead of one error per record).
     */
    public static void requireChatMarkers(Tokenizer tokenizer) {
        List<String> missing = new ArrayList<>();
        for (String marker : List.of("<|user|>", "<|assistant|>", "<|end|>")) {
            try {
                tokenizer.specialId(marker);
            } catch (IllegalArgumentException e) {
                missing.add(marker);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("data.format messages: tokenizer " + tokenizer.id() + " has no tokens "
                    + "for the chat markers " + missing + " (and <|system|> for system turns); map them to tokens of "
                    + "the model's vocabulary with tokenizer.special_tokens, e.g. tokenizer.special_tokens="
                    + "{\"<|user|>\": \"...\", \"<|assistant|>\": \"...\", \"<|end|>\": \"...\"}, "
                    + "or give a Jinja chat template whose markers are plain text with tokenizer.chat_template=<file>");
        }
    }

    /** The teacher of logit distillation: loaded, and checked to share the student's tokenizer and vocabulary. */
    private CheckpointStore.ModelAndTokenizer teacher(HadoopFiles files, Tokenizer studentTokenizer, ModelConfig student) {
        String path = config.distill().teacher();
        CheckpointStore.ModelAndTokenizer loaded = ModelSources.load(files, path);
        // the student's tokenizer.special_tokens apply to the teacher's tokenizer too
        CheckpointStore.ModelAndTokenizer teacher = new CheckpointStore.ModelAndTokenizer(loaded.config(),
                loaded.params(), loaded.tokenizer().withSpecialTokens(config.tokenizer().specialTokens()));
        if (!teacher.tokenizer().id().equals(studentTokenizer.id()) || teacher.config().vocabSize() != student.vocabSize()) {
            throw new IllegalArgumentException("distill.teacher " + path + " uses tokenizer " + teacher.tokenizer().id()
                    + " (vocabulary " + teacher.config().vocabSize() + ") but the student uses " + studentTokenizer.id()
                    + " (vocabulary " + student.vocabSize() + "): logit distillation needs one tokenizer");
        }
        if (teacher.config().maxSeqLen() < config.data().seqLen()) {
            throw new IllegalArgumentException("distill.teacher " + path + " has max_seq_len "
                    + teacher.config().maxSeqLen() + ", below data.seq_len " + config.data().seqLen());
        }
        return teacher;
    }

    /**
     * The model training starts from (before any resume): loaded from model.init with its own tokenizer,
     * or initialised from the seed for {@code scratchTokenizer}.
     */
    public CheckpointStore.ModelAndTokenizer initialModel(HadoopFiles files, Tokenizer tokenizer) {
        ModelSpec spec = config.model();
        if (!spec.fromScratch()) {
            return ModelSources.load(files, spec.init());
        }
        int maxSeqLen = spec.maxSeqLen() == 0 ? config.data().seqLen() : spec.maxSeqLen();
        ModelConfig modelConfig = Family.parse(spec.family()) == Family.GPT2
                ? new ModelConfig(Family.GPT2, tokenizer.vocabSize(), spec.width(), spec.layers(), spec.heads(),
                spec.heads(), spec.ffnHidden(), maxSeqLen, 1e-5, 10000.0, true)
                : new ModelConfig(Family.LLAMA, tokenizer.vocabSize(), spec.width(), spec.layers(), spec.heads(),
                spec.kvHeads(), spec.ffnHidden(), maxSeqLen, 1e-5, 10000.0, false);
        ParameterStore store = new ParameterStore(ParameterLayout.of(modelConfig), DataType.FLOAT);
        store.initialize(config.train().seed());
        return new CheckpointStore.ModelAndTokenizer(modelConfig, TrainingState.toFloats(store.params()), tokenizer);
    }

    private static TrainingState freshState(float[] params, String optimizer) {
        int vectors = OptimizerKind.parse(optimizer).stateNames().size();
        float[][] state = new float[vectors][params.length];
        return new TrainingState(params, state, 0);
    }

    private CorpusSpec corpusSpec(String runDir) {
        return corpusSpec(runDir, config.data().path());
    }

    /** The training data's spec for the corpus at {@code path} (the held-out corpus is read as the training data). */
    private CorpusSpec corpusSpec(String runDir, String path) {
        String cache = config.data().cacheDir().isEmpty()
                ? new Path(new Path(runDir).getParent(), "_cache").toString() : config.data().cacheDir();
        return new CorpusSpec(path, Format.parse(config.data().format()), config.data().container(),
                CorpusSpec.Validation.parse(config.data().validation()), config.data().seqLen(), config.data().packing(),
                CorpusSpec.Truncation.parse(config.data().truncation()), cache)
                .withColumns(new io.whetstone.datasets.spark.ColumnMap(config.data().columns()));
    }
}
