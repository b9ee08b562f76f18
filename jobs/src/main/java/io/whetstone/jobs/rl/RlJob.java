package io.whetstone.jobs.rl;

import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.jobs.rollout.RewardFactory;
import io.whetstone.jobs.rollout.PromptRecord;
import io.whetstone.jobs.rollout.PromptReader;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.records.Format;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.RlConfig;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.MetricsLog;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.engine.RoundLoop;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.Tensor;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.rl.AdaptiveKlController;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Online RL on Spark (GRPO or PPO, as configured). Per iteration: pick prompts, sample and score their
 * groups on the executors, compute advantages on the driver, write the rollouts, update over the
 * partitions, log metrics, check the guard bands, checkpoint. Resumes from the newest checkpoint.
 */
public final class RlJob {

    private static final Logger LOG = LoggerFactory.getLogger(RlJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SparkSession spark;
    private final RlConfig config;

    public RlJob(SparkSession spark, RlConfig config) {
        this.spark = spark;
        this.config = config;
    }


    public RlResult run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        LOG.info("{} run directory: {}", config.algorithm().name().toUpperCase(), directory.path());
        Optional<CheckpointStore.Loaded> resumed = directory.checkpoints().resume(config.checkpoint().resume(), null);
        Inputs inputs = loadInputs(context, files, directory.path());
        Position position = startPosition(inputs, directory.checkpoints(), resumed);
        Broadcast<float[]> referenceWeights = context.broadcast(inputs.reference().params());
        try {
            return new Iterations(context, directory, inputs, position, referenceWeights)
                    .run(resumed.isPresent(), resumed.map(CheckpointStore.Loaded::path).orElse(null));
        } finally {
            inputs.release();
            referenceWeights.destroy();
            ModelPool.clear();
        }
    }

    /**
     * Everything a run reads, validated before any sampling: the policy and the frozen reference, the
     * rewards, the prompts (partitioned; the held-out prompts when evaluation is on) and the replayed SFT rows.
     */
    private record Inputs(CheckpointStore.ModelAndTokenizer initial, CheckpointStore.ModelAndTokenizer reference,
                          EngineOptions engine, List<RewardScorer.Component> rewards, List<String> componentNames,
                          JavaRDD<PromptRecord> prompts, long promptCount, JavaRDD<PromptRecord> evalPrompts,
                          JavaRDD<Tuple2<PackedSequence, Long>> replay, long replayCount) {

        ModelConfig model() {
            return initial.config();
        }

        Tokenizer tokenizer() {
            return initial.tokenizer();
        }

        void release() {
            prompts.unpersist(false);
            if (evalPrompts != null) {
                evalPrompts.unpersist(false);
            }
            if (replay != null) {
                replay.unpersist(false);
            }
        }
    }

    private Inputs loadInputs(JavaSparkContext context, HadoopFiles files, String runDir) {
        CheckpointStore.ModelAndTokenizer initial = ModelSources.load(files, config.model().init());
        ModelConfig modelConfig = initial.config();
        Tokenizer tokenizer = initial.tokenizer();
        CheckpointStore.ModelAndTokenizer reference = config.model().reference().isBlank() ? initial
                : ModelSources.load(files, config.model().reference());
        if (!reference.config().equals(modelConfig)) {
            throw new IllegalArgumentException("model.reference " + config.model().reference() + " has a different "
                    + "shape from model.init: " + reference.config() + " vs " + modelConfig);
        }
        int maxPrompt = modelConfig.maxSeqLen() - config.rollout().maxNewTokens();
        if (maxPrompt < 2) {
            throw new IllegalArgumentException("rollout.max_new_tokens " + config.rollout().maxNewTokens()
                    + " leaves no room for a prompt within the model's max_seq_len " + modelConfig.maxSeqLen());
        }
        int partitions = config.spark().partitions();
        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.model().kernels()), threads);

        List<RewardScorer.Component> rewards = RewardFactory.build(config.rewards().components(),
                config.rollout().maxNewTokens(), context, files, engine);
        List<String> componentNames = rewards.stream().map(RewardScorer.Component::name).toList();
        PromptReader.Partitioned read = PromptReader.readPartitioned(spark, config.data().path(),
                config.data().container(), config.data().validation().equals("strict"), tokenizer, maxPrompt, partitions);
        JavaRDD<PromptRecord> evalPrompts = null;
        if (config.eval().enabled()) {
            int maxEval = config.eval().maxPrompts();
            JavaRDD<PromptRecord> all = PromptReader.read(spark, config.eval().path(), "auto", true, tokenizer, maxPrompt);
            evalPrompts = all.filter(p -> p.index() < maxEval).mapToPair(p -> new Tuple2<>(p.index(), p))
                    .partitionBy(new HashPartitioner(partitions)).values().persist(StorageLevel.MEMORY_AND_DISK());
            evalPrompts.count();
            all.unpersist(false);
        }
        JavaRDD<Tuple2<PackedSequence, Long>> replay = null;
        long replayCount = 0;
        if (config.replay().enabled()) {
            String cache = new Path(new Path(runDir).getParent(), "_cache").toString();
            CorpusSpec spec = new CorpusSpec(config.replay().path(), Format.parse(config.replay().format()), "auto",
                    CorpusSpec.Validation.STRICT, config.replay().seqLen(), false, CorpusSpec.Truncation.TRUNCATE, cache);
            CorpusPreparer.Prepared prepared = new CorpusPreparer(spark).prepare(spec, tokenizer, partitions,
                    new Path(runDir, "rejects-replay").toString());
            replay = prepared.rows().zipWithIndex().map(pair -> new Tuple2<>(pair._1(), pair._2()))
                    .persist(StorageLevel.MEMORY_AND_DISK());
            replayCount = replay.count();
            LOG.info("Replay: {} SFT rows from {}, {} per rollout row", replayCount, config.replay().path(),
                    config.replay().fraction());
        }
        return new Inputs(initial, reference, engine, rewards, componentNames, read.prompts(), read.count(),
                evalPrompts, replay, replayCount);
    }

    /**
     * Where training stands: the trained vector (the policy, then PPO's value head) with its optimiser state,
     * the KL coefficient, the rollback guard's learning-rate scale and count, the last state a checkpoint holds.
     */
    private static final class Position {
        TrainingState state;
        TrainingState lastGood;
        int iteration;
        double klCoef;
        double lrScale = 1.0;
        int rollbacks;
    }

    /** The newest checkpoint's position, or the initial model's with zeroed optimiser state. */
    private Position startPosition(Inputs inputs, CheckpointStore checkpoints,
                                   Optional<CheckpointStore.Loaded> resumed) {
        Position position = new Position();
        int headLength = headLength(inputs.model());
        position.klCoef = config.algorithm().klCoef();
        if (resumed.isPresent()) {
            CheckpointStore.Loaded loaded = resumed.get();
            position.state = withHead(loaded.state(), checkpoints.extraTensors(loaded.path()), headLength,
                    config.train().optimizer());
            position.iteration = loaded.round();
            JsonNode extra = loaded.trainerState().path("extra");
            position.klCoef = extra.path("kl_coef").asDouble(position.klCoef);
            position.lrScale = extra.path("lr_scale").asDouble(1.0);
            position.rollbacks = extra.path("rollbacks").asInt(0);
            LOG.info("Resuming from {} (iteration {}, step {})", loaded.path(), position.iteration,
                    position.state.step());
        } else {
            float[] params = Arrays.copyOf(inputs.initial().params(), inputs.initial().params().length + headLength);
            int vectors = OptimizerKind.parse(config.train().optimizer()).stateNames().size();
            position.state = new TrainingState(params, new float[vectors][params.length], 0);
        }
        position.lastGood = position.state;
        return position;
    }

    private int headLength(ModelConfig model) {
        return config.algorithm().ppo() ? model.width() + 1 : 0;
    }

    /** What one iteration's rollouts gave: the samples (in prompt, sample order), failures and stage times. */
    private record Rollouts(List<Rollout> rollouts, long failures, double wallSeconds, long generationNanos,
                            long scoringNanos, long logProbNanos) {
    }

    /** An iteration's update rows: the built groups (advantages) and the replayed SFT rows appended. */
    private record UpdateInput(BatchBuilder.Built built, List<UpdateRow> rows, int replayed) {
    }

    /** The iteration loop of one run: rollouts, update, metrics, guards, evaluation, checkpoints. */
    private final class Iterations {
        private final JavaSparkContext context;
        private final RunDirectory directory;
        private final Inputs inputs;
        private final Position position;
        private final Broadcast<float[]> referenceWeights;
        private final String algorithmName = config.algorithm().name();
        private final boolean ppo = config.algorithm().ppo();
        private final AdamWConfig adamw;
        private final AdaptiveKlController kl;
        private final boolean adaptive;
        private final UpdateStage updates;
        private final int perIteration;
        private final Map<String, Double> timeSums = new LinkedHashMap<>();
        private final RoundLoop.Settings cadence = new RoundLoop.Settings(config.algorithm().name() + " ",
                config.train().iterations(), config.checkpoint().everyRounds(), config.debug().failAfterRound());
        private String lastCheckpoint;
        private String stopReason;
        private double firstReward = Double.NaN;
        private double lastReward = Double.NaN;
        private double completions;
        private double rolloutSeconds;
        private int run;
        private double wall;

        Iterations(JavaSparkContext context, RunDirectory directory, Inputs inputs, Position position,
                   Broadcast<float[]> referenceWeights) {
            this.context = context;
            this.directory = directory;
            this.inputs = inputs;
            this.position = position;
            this.referenceWeights = referenceWeights;
            RlConfig.Train train = config.train();
            this.adamw = new AdamWConfig(train.beta1(), train.beta2(), train.eps(), train.weightDecay(),
                    train.maxGradNorm());
            this.kl = new AdaptiveKlController(position.klCoef, Math.max(config.algorithm().klTarget(), 1e-9),
                    config.algorithm().klHorizon());
            this.adaptive = ppo && config.algorithm().klTarget() > 0;
            long stepsPerIteration = (long) config.algorithm().epochs() * config.algorithm().minibatches();
            LrSchedule schedule = new LrSchedule(train.lr(), train.warmupSteps(),
                    Math.max(train.warmupSteps() + 1, train.iterations() * stepsPerIteration), train.minLrRatio());
            this.updates = new UpdateStage(context, train.mode().equals("averaging"), config.spark().partitions(),
                    schedule, "whetstone " + algorithmName);
            this.perIteration = (int) Math.min(config.rollout().promptsPerIteration(), inputs.promptCount());
            if (perIteration < config.rollout().promptsPerIteration()) {
                LOG.warn("Only {} prompts: each iteration uses all of them", inputs.promptCount());
            }
        }

        /** The KL coefficient in force: PPO's adapts, GRPO's is fixed. */
        private double klCoef() {
            return ppo ? kl.coef() : position.klCoef;
        }

        private RlWorkerSetup workerSetup(double klCoef) {
            return setup(inputs.model(), inputs.engine(), inputs.tokenizer(), inputs.rewards(), klCoef, adamw,
                    referenceWeights.id());
        }

        RlResult run(boolean resumed, String resumedCheckpoint) {
            RlConfig.Train train = config.train();
            MetricsLog metrics = directory.metrics();
            metrics.append(new LinkedHashMap<>(Map.of("event", resumed ? "resume" : "start",
                    "iteration", position.iteration, "algorithm", algorithmName, "prompts", inputs.promptCount(),
                    "params", position.state.params().length, "partitions", config.spark().partitions(),
                    "replay_rows", inputs.replayCount())));
            lastCheckpoint = resumedCheckpoint;
            Map<String, Double> evalBefore = Map.of();
            Map<String, Double> evalAfter = Map.of();
            if (inputs.evalPrompts() != null) {
                evalBefore = evaluate(context, inputs.evalPrompts(), workerSetup(position.klCoef),
                        position.state.params(), inputs.componentNames(), referenceWeights);
                metrics.append(evalLine(position.iteration, "eval_before", evalBefore));
                LOG.info("Held-out reward before: {}", evalBefore);
            }
            for (int iteration = position.iteration + 1; iteration <= train.iterations(); iteration++) {
                if (!iterate(iteration)) {
                    break;
                }
            }
            if (inputs.evalPrompts() != null) {
                evalAfter = evaluate(context, inputs.evalPrompts(), workerSetup(kl.coef()), position.state.params(),
                        inputs.componentNames(), referenceWeights);
                metrics.append(evalLine(train.iterations(), "eval_after", evalAfter));
                LOG.info("Held-out reward after: {}", evalAfter);
            }
            metrics.append(new LinkedHashMap<>(Map.of("event", "end", "iterations_run", run, "checkpoint",
                    String.valueOf(lastCheckpoint), "stopped", String.valueOf(stopReason))));
            Map<String, Double> seconds = new LinkedHashMap<>();
            for (Map.Entry<String, Double> entry : timeSums.entrySet()) {
                seconds.put(entry.getKey(), run == 0 ? 0 : entry.getValue() / run);
            }
            return new RlResult(directory.path(), lastCheckpoint, inputs.model(),
                    policyPart(position.state.params(), inputs.model()), inputs.tokenizer(), run, stopReason,
                    evalBefore, evalAfter, firstReward, lastReward,
                    rolloutSeconds == 0 ? 0 : completions / rolloutSeconds, seconds);
        }

        /** Runs {@code iteration}; false when a guard stops the run. */
        private boolean iterate(int iteration) {
            long iterationStart = System.nanoTime();
            RlWorkerSetup setup = workerSetup(klCoef());
            Rollouts sampled = rollouts(setup, iteration);
            UpdateInput input = updateInput(sampled.rollouts(), iteration);
            long updateStart = System.nanoTime();
            UpdateStage.Report update = null;
            if (input.built().rows().isEmpty()) {
                LOG.warn("Iteration {}: no group carries a learning signal (all {} dropped); no update",
                        iteration, input.built().groups());
            } else {
                List<UpdateRow> assigned = UpdateStage.assignMinibatches(input.rows(), config.algorithm().epochs(),
                        config.algorithm().minibatches(), config.rollout().seed(), iteration);
                update = updates.run(setup, assigned, position.state, config.algorithm().epochs(),
                        config.algorithm().minibatches(), position.lrScale, config.replay().coef(), iteration);
            }
            double updateWall = (System.nanoTime() - updateStart) / 1e9;
            String table = RolloutTable.write(spark, directory.files(), directory.path(), iteration,
                    inputs.componentNames(), sampled.rollouts(), input.built().advantages(), input.built().used());
            Map<String, Object> stats = IterationMetrics.of(sampled.rollouts(), inputs.componentNames());
            Map<String, Object> line = metricsLine(iteration, stats, input, update, sampled);
            double iterationSeconds = (System.nanoTime() - iterationStart) / 1e9;
            double updateCompute = update == null ? 0 : update.computeSeconds();
            double generated = sampled.rollouts().size();
            double rolloutWall = sampled.wallSeconds();
            line.put("completions_per_s", generated / rolloutWall);
            line.put("tokens_per_s", (double) stats.get("generated_tokens") / rolloutWall);
            line.put("generation_s", sampled.generationNanos() / 1e9);
            line.put("scoring_s", sampled.scoringNanos() / 1e9);
            line.put("logprob_s", sampled.logProbNanos() / 1e9);
            line.put("rollout_s", rolloutWall);
            line.put("update_s", updateWall);
            line.put("aggregation_s", Math.max(0, updateWall - updateCompute));
            line.put("iteration_s", iterationSeconds);
            run++;
            wall += iterationSeconds;
            double eta = cadence.eta(wall, run, iteration);
            line.put("eta_s", eta);
            line.put("rollouts", table);

            double rewardMean = (double) stats.get("reward_mean");
            if (run == 1) {
                firstReward = rewardMean;
            }
            lastReward = rewardMean;
            completions += generated;
            rolloutSeconds += rolloutWall;
            accumulate(timeSums, "iteration", iterationSeconds);
            accumulate(timeSums, "generation", sampled.generationNanos() / 1e9);
            accumulate(timeSums, "scoring", sampled.scoringNanos() / 1e9);
            accumulate(timeSums, "logprobs", sampled.logProbNanos() / 1e9);
            accumulate(timeSums, "update", updateWall);
            accumulate(timeSums, "aggregation", Math.max(0, updateWall - updateCompute));
            LOG.info(String.format("iteration %d/%d  step %s  reward %.3f  kl %.4f  entropy %.3f  len %.1f  "
                            + "clip %.3f  zero-var %.2f  %.1f completions/s  %.1fs (gen %.1f, score %.1f, "
                            + "logp %.1f, update %.1f)  eta %s", iteration, config.train().iterations(),
                    line.get("step"), rewardMean, (double) stats.get("kl"), (double) stats.get("entropy"),
                    (double) stats.get("response_length"), update == null ? 0 : update.clipFraction(),
                    (double) line.get("zero_variance_fraction"), generated / rolloutWall, iterationSeconds,
                    sampled.generationNanos() / 1e9, sampled.scoringNanos() / 1e9, sampled.logProbNanos() / 1e9,
                    updateWall, RoundLoop.format(eta)));

            String breach = Guards.check(config.guards(), stats);
            if (breach != null) {
                line.put("guard_breach", breach);
                directory.metrics().append(line);
                return rollBack(iteration, breach);
            }
            if (update != null) {
                position.state = update.state();
            }
            if (adaptive && !Double.isNaN((double) stats.get("kl_per_sequence"))) {
                kl.update((double) stats.get("kl_per_sequence"), (int) generated);
            }
            if (inputs.evalPrompts() != null && config.eval().everyIterations() > 0
                    && iteration % config.eval().everyIterations() == 0 && iteration < config.train().iterations()) {
                Map<String, Double> eval = evaluate(context, inputs.evalPrompts(), setup, position.state.params(),
                        inputs.componentNames(), referenceWeights);
                line.put("eval", eval);
                LOG.info("Held-out reward at iteration {}: {}", iteration, eval);
            }
            directory.metrics().append(line);
            checkpoint(iteration);
            return true;
        }

        /** Samples the iteration's groups on the executors from the current policy, scored there. */
        private Rollouts rollouts(RlWorkerSetup setup, int iteration) {
            Set<Long> chosen = choose(inputs.promptCount(), perIteration, iteration, config.rollout().seed());
            Broadcast<float[]> policy = context.broadcast(position.state.params());
            List<RolloutPartition> parts;
            long rolloutStart = System.nanoTime();
            try {
                context.setJobDescription("whetstone " + algorithmName + ": iteration " + iteration + " rollouts ("
                        + perIteration + " prompts x " + config.rollout().groupSize() + ")");
                long version = position.state.step();
                int group = config.rollout().groupSize();
                Broadcast<float[]> reference = referenceWeights;
                parts = inputs.prompts().filter(p -> chosen.contains(p.index()))
                        .mapPartitions(rows -> RolloutWorker.run(setup, policy.value(), reference::value, rows,
                                iteration, version, group, false)).collect();
            } finally {
                policy.destroy();
            }
            double rolloutWall = (System.nanoTime() - rolloutStart) / 1e9;
            List<Rollout> rollouts = new ArrayList<>();
            long generationNanos = 0;
            long scoringNanos = 0;
            long logProbNanos = 0;
            long failures = 0;
            for (RolloutPartition part : parts) {
                rollouts.addAll(part.rollouts());
                generationNanos = Math.max(generationNanos, part.generationNanos());
                scoringNanos = Math.max(scoringNanos, part.scoringNanos());
                logProbNanos = Math.max(logProbNanos, part.logProbNanos());
                failures += part.rewardFailures();
            }
            rollouts.sort(Comparator.comparingLong(Rollout::promptIndex).thenComparingInt(Rollout::sample));
            if (failures > 0) {
                Rollout example = rollouts.stream().filter(Rollout::failed).findFirst().orElseThrow();
                LOG.warn("Iteration {}: {} of {} rewards failed and are left out of the update; first: {}",
                        iteration, failures, rollouts.size(), example.failure());
            }
            return new Rollouts(rollouts, failures, rolloutWall, generationNanos, scoringNanos, logProbNanos);
        }

        /** Advantages of the groups, then the replayed SFT rows (a fraction of the rollout rows). */
        private UpdateInput updateInput(List<Rollout> rollouts, int iteration) {
            BatchBuilder.Built built = BatchBuilder.build(rollouts, config.algorithm(), klCoef());
            List<UpdateRow> rows = new ArrayList<>(built.rows());
            int replayed = 0;
            if (inputs.replay() != null && !rows.isEmpty()) {
                List<PackedSequence> extra = sampleReplay(inputs.replay(), inputs.replayCount(),
                        (int) Math.round(config.replay().fraction() * rows.size()), iteration);
                for (PackedSequence sequence : extra) {
                    rows.add(new UpdateRow(null, null, null, null, null, null, null, new int[0], sequence, -1));
                }
                replayed = extra.size();
            }
            return new UpdateInput(built, rows, replayed);
        }

        /** The iteration's metrics line before its timings: rollout statistics, groups, the update's numbers. */
        private Map<String, Object> metricsLine(int iteration, Map<String, Object> stats, UpdateInput input,
                                                UpdateStage.Report update, Rollouts sampled) {
            BatchBuilder.Built built = input.built();
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("iteration", iteration);
            line.put("step", update == null ? position.state.step() : update.state().step());
            line.putAll(stats);
            line.put("groups", built.groups());
            line.put("zero_variance_fraction", built.groups() == 0 ? 0 : (double) built.zeroVarianceGroups()
                    / built.groups());
            line.put("dropped_groups", built.droppedGroups());
            line.put("reward_failures", sampled.failures());
            line.put("updated_rows", built.rows().size());
            line.put("replay_rows", input.replayed());
            if (update != null) {
                line.put("policy_loss", update.policyLoss());
                if (ppo) {
                    line.put("value_loss", update.valueLoss());
                    line.put("value_clip_fraction", update.valueClipFraction());
                }
                if (input.replayed() > 0) {
                    line.put("replay_loss", update.replayLoss());
                }
                line.put("clip_fraction", update.clipFraction());
                line.put("ratio_mean", update.meanRatio());
                line.put("grad_norm", update.gradNorm());
                line.put("lr", update.learningRate());
            }
            line.put("kl_coef", klCoef());
            return line;
        }

        /**
         * A guard breach: back to the last good state with a damped learning rate (true: the run goes on), or,
         * without rollbacks left, the run stops (false).
         */
        private boolean rollBack(int iteration, String breach) {
            RlConfig.Guards guards = config.guards();
            if (guards.action().equals("rollback") && position.rollbacks < guards.maxRollbacks()) {
                position.rollbacks++;
                position.lrScale *= guards.rollbackLrFactor();
                position.state = position.lastGood;
                LOG.warn("Iteration {}: {}; rolling back to the last good state (step {}, {}) with the learning "
                                + "rate scaled by {} (rollback {} of {})", iteration, breach, position.state.step(),
                        lastCheckpoint == null ? "the initial policy" : lastCheckpoint, position.lrScale,
                        position.rollbacks, guards.maxRollbacks());
                directory.metrics().append(new LinkedHashMap<>(Map.of("event", "rollback", "iteration", iteration,
                        "reason", breach, "to_step", position.state.step(), "lr_scale", position.lrScale)));
                return true;
            }
            stopReason = "iteration " + iteration + ": " + breach + (guards.action().equals("rollback")
                    ? " (after " + position.rollbacks + " rollbacks)" : "");
            LOG.error("Stopping: {}. The last good checkpoint is {}", stopReason, lastCheckpoint);
            directory.metrics().append(new LinkedHashMap<>(Map.of("event", "stopped", "iteration", iteration,
                    "reason", stopReason)));
            return false;
        }

        /** The checkpoint cadence (every checkpoint.every_rounds iterations and the last), then the injected failure. */
        private void checkpoint(int iteration) {
            if (cadence.checkpointDue(iteration)) {
                lastCheckpoint = writeCheckpoint(directory.checkpoints(), iteration, position.state, inputs.model(),
                        inputs.tokenizer(), directory.resolved(), headLength(inputs.model()),
                        ppo ? kl.coef() : position.klCoef, position.lrScale, position.rollbacks);
                directory.checkpoints().prune(config.checkpoint().keepLast());
                position.lastGood = position.state;
                LOG.info("Checkpoint written: {}", lastCheckpoint);
            }
            cadence.failIfInjected(iteration);
        }
    }

    private RlWorkerSetup setup(ModelConfig modelConfig, EngineOptions engine, Tokenizer tokenizer,
                                List<RewardScorer.Component> rewards, double klCoef, AdamWConfig adamw, long poolId) {
        return new RlWorkerSetup(modelConfig, engine, config.algorithm(), config.rollout(), tokenizer, rewards,
                config.rewards().timeoutMs(), klCoef, config.train().optimizer(), adamw, poolId);
    }

    /** The policy's part of the trained vector (PPO appends its value head after the model's tensors). */
    static float[] policyPart(float[] flat, ModelConfig config) {
        int length = (int) io.whetstone.models.engine.ParameterLayout.of(config).length();
        return flat.length == length ? flat : Arrays.copyOfRange(flat, 0, length);
    }

    private static void accumulate(Map<String, Double> sums, String key, double value) {
        sums.merge(key, value, Double::sum);
    }

    /** The prompt indices of {@code iteration}: consecutive slices of a per-epoch seeded permutation. */
    static Set<Long> choose(long count, int perIteration, long iteration, long seed) {
        Set<Long> chosen = new HashSet<>();
        long first = (iteration - 1) * perIteration;
        int[] permutation = null;
        long permutationEpoch = -1;
        for (long r = first; r < first + perIteration; r++) {
            long epoch = r / count;
            if (epoch != permutationEpoch) {
                permutation = permutation(count, seed * 31 + epoch);
                permutationEpoch = epoch;
            }
            chosen.add((long) permutation[(int) (r % count)]);
        }
        return chosen;
    }

    private static int[] permutation(long count, long seed) {
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("more than 2^31 prompts");
        }
        int[] p = new int[(int) count];
        for (int i = 0; i < p.length; i++) {
            p[i] = i;
        }
        Random random = new Random(seed);
        for (int i = p.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = p[i];
            p[i] = p[j];
            p[j] = swap;
        }
        return p;
    }

    private List<PackedSequence> sampleReplay(JavaRDD<Tuple2<PackedSequence, Long>> replay, long count, int wanted,
                                              int iteration) {
        if (wanted <= 0 || count == 0) {
            return List.of();
        }
        Set<Long> chosen = choose(count, (int) Math.min(wanted, count), iteration, config.rollout().seed() + 17);
        List<Tuple2<PackedSequence, Long>> rows = replay.filter(pair -> chosen.contains(pair._2())).collect();
        List<Tuple2<PackedSequence, Long>> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingLong(Tuple2::_2));
        List<PackedSequence> out = new ArrayList<>();
        sorted.forEach(pair -> out.add(pair._1()));
        return out;
    }

    /** Greedy completions of the held-out prompts, scored: mean of each component and of the total. */
    private Map<String, Double> evaluate(JavaSparkContext context, JavaRDD<PromptRecord> evalPrompts,
                                         RlWorkerSetup setup, float[] params, List<String> names,
                                         Broadcast<float[]> referenceWeights) {
        Broadcast<float[]> policy = context.broadcast(params);
        try {
            context.setJobDescription("whetstone " + config.algorithm().name() + ": held-out evaluation");
            List<RolloutPartition> parts = evalPrompts.mapPartitions(rows -> RolloutWorker.run(setup, policy.value(),
                    referenceWeights::value, rows, 0, 0, 1, true)).collect();
            double[] sums = new double[names.size() + 1];
            int n = 0;
            for (RolloutPartition part : parts) {
                for (Rollout r : part.rollouts()) {
                    if (r.failed()) {
                        continue;
                    }
                    for (int c = 0; c < names.size(); c++) {
                        sums[c] += r.rewards()[c];
                    }
                    sums[names.size()] += r.reward();
                    n++;
                }
            }
            Map<String, Double> out = new LinkedHashMap<>();
            for (int c = 0; c < names.size(); c++) {
                out.put(names.get(c), n == 0 ? Double.NaN : sums[c] / n);
            }
            out.put("reward", n == 0 ? Double.NaN : sums[names.size()] / n);
            out.put("prompts", (double) n);
            return out;
        } finally {
            policy.destroy();
        }
    }

    private static Map<String, Object> evalLine(int iteration, String event, Map<String, Double> eval) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", event);
        line.put("iteration", iteration);
        line.put("eval", eval);
        return line;
    }

    /** The checkpoint's policy state with the value head (and its moments) appended from its extras. */
    private static TrainingState withHead(TrainingState policy, Map<String, Tensor> extras, int headLength,
                                          String optimizer) {
        if (headLength == 0) {
            return policy;
        }
        Tensor head = extras.get("value_head");
        if (head == null || head.values().length != headLength) {
            throw new IllegalArgumentException("the checkpoint has no value head of " + headLength
                    + " values: was it written by a GRPO run?");
        }
        float[] params = concat(policy.params(), head.values());
        float[][] moments = new float[policy.optimizerState().length][];
        for (int k = 0; k < moments.length; k++) {
            Tensor moment = extras.get("value_head." + (k == 0 ? "adamw.m" : "adamw.v"));
            moments[k] = concat(policy.optimizerState()[k], moment.values());
        }
        return new TrainingState(params, moments, policy.step());
    }

    private String writeCheckpoint(CheckpointStore checkpoints, int iteration, TrainingState state,
                                   ModelConfig modelConfig, Tokenizer tokenizer, JsonNode resolved, int headLength,
                                   double klCoef, double lrScale, int rollbacks) {
        int policyLength = (int) ParameterLayout.of(modelConfig).length();
        float[][] moments = new float[state.optimizerState().length][];
        Map<String, Tensor> extraTensors = new LinkedHashMap<>();
        for (int k = 0; k < moments.length; k++) {
            moments[k] = Arrays.copyOf(state.optimizerState()[k], policyLength);
            if (headLength > 0) {
                extraTensors.put("value_head." + (k == 0 ? "adamw.m" : "adamw.v"), new Tensor(new long[] {headLength},
                        Arrays.copyOfRange(state.optimizerState()[k], policyLength, policyLength + headLength)));
            }
        }
        if (headLength > 0) {
            extraTensors.put("value_head", new Tensor(new long[] {headLength},
                    Arrays.copyOfRange(state.params(), policyLength, policyLength + headLength)));
        }
        ObjectNode info = JSON.createObjectNode();
        info.put("algorithm", config.algorithm().name());
        info.put("kl_coef", klCoef);
        info.put("lr_scale", lrScale);
        info.put("rollbacks", rollbacks);
        TrainingState policy = new TrainingState(Arrays.copyOf(state.params(), policyLength), moments, state.step());
        List<String> names = OptimizerKind.parse(config.train().optimizer()).stateNames();
        return checkpoints.write(iteration, policy, modelConfig, tokenizer, config.train().optimizer(), names, resolved,
                config.rollout().seed(), null, iteration == config.train().iterations(),
                new CheckpointStore.Extras(extraTensors, info));
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
