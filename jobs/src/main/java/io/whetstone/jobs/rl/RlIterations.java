package io.whetstone.jobs.rl;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.jobs.config.RlConfig;
import io.whetstone.jobs.io.MetricsLog;
import io.whetstone.jobs.io.ProcessMemory;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.engine.RoundLoop;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.rl.AdaptiveKlController;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The iteration loop of one RL run: per iteration, rollouts on the executors, the update input (advantages and
 * replayed rows), the update on the shared layer, the metrics line, the guard bands (rollback or stop), held-out
 * evaluation and checkpoints. {@link RlJob} prepares its inputs and position.
 */
final class RlIterations {

    private static final Logger LOG = LoggerFactory.getLogger(RlJob.class);

    /**
     * What one iteration's rollouts gave: the samples (in prompt, sample order), failures, stage times, the batches
     * sampled and the groups with a signal left out as surplus. Per batch, the generation, scoring and log-prob
     * times are the slowest partition's (summed over the batches); {@code busySeconds} is the partitions' task time
     * summed over the task slots that ran them at once (local[2] with spark.task.cpus=2 has one slot, so its two
     * partitions run one after the other), and the rest of the wall time is the stage's idle time: task launch,
     * the policy's broadcast, serialising and collecting the rollouts, and waiting for the slowest slot.
     */
    private record Rollouts(List<Rollout> rollouts, long failures, double wallSeconds, long generationNanos,
                            long scoringNanos, long logProbNanos, double busySeconds, double setupSeconds,
                            int batches, int prompts, Set<Long> surplus, JavaRDD<RolloutPartition> sampled,
                            List<JavaRDD<RolloutPartition>> persisted, Broadcast<float[]> policy) {

        double idleSeconds() {
            return Math.max(0, wallSeconds - busySeconds);
        }

        /** Drops the executors' copy of the rollouts, then the policy they were sampled from. */
        void release() {
            persisted.forEach(rdd -> rdd.unpersist(false));
            policy.destroy(false);
        }
    }

    /** One batch of groups, sampled on the executors and kept there; its partitions' results collected. */
    private record Batch(JavaRDD<RolloutPartition> sampled, int prompts, List<RolloutPartition> parts,
                         List<Rollout> rollouts) {
    }

    /** An iteration's update rows: the built groups (advantages) and the replayed SFT rows appended. */
    private record UpdateInput(BatchBuilder.Built built, List<UpdateRow> rows, int replayed) {
    }


    private final RlJob job;
    private final RlConfig config;
    private final SparkSession spark;
    private final JavaSparkContext context;
    private final RunDirectory directory;
    private final RlJob.Inputs inputs;
    private final RlJob.Position position;
    private final Broadcast<io.whetstone.models.engine.FrozenParams> referenceWeights;
    private final String algorithmName;
    private final boolean ppo;
    private final AdamWConfig adamw;
    private final AdaptiveKlController kl;
    private final boolean adaptive;
    private final UpdateStage updates;
    private final int perIteration;
    private final Map<String, Double> timeSums = new LinkedHashMap<>();
    private final RoundLoop.Settings cadence;
    private String lastCheckpoint;
    private String stopReason;
    private double firstReward = Double.NaN;
    private double lastReward = Double.NaN;
    private double completions;
    private double rolloutSeconds;
    private int run;
    private double wall;

    RlIterations(RlJob job, RlConfig config, SparkSession spark, JavaSparkContext context, RunDirectory directory,
                 RlJob.Inputs inputs, RlJob.Position position, Broadcast<io.whetstone.models.engine.FrozenParams> referenceWeights) {
        this.job = job;
        this.config = config;
        this.spark = spark;
        this.context = context;
        this.directory = directory;
        this.inputs = inputs;
        this.position = position;
        this.referenceWeights = referenceWeights;
        this.algorithmName = config.algorithm().name();
        this.ppo = config.algorithm().ppo();
        this.cadence = new RoundLoop.Settings(algorithmName + " ", config.train().iterations(),
                config.checkpoint().everyRounds(), config.debug().failAfterRound());
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
        return job.setup(inputs.model(), inputs.engine(), inputs.tokenizer(), inputs.rewards(), klCoef, adamw,
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
            evalBefore = job.evaluate(context, inputs.evalPrompts(), workerSetup(position.klCoef),
                    position.state.params(), inputs.componentNames(), referenceWeights);
            metrics.append(RlJob.evalLine(position.iteration, "eval_before", evalBefore));
            LOG.info("Held-out reward before: {}", evalBefore);
        }
        for (int iteration = position.iteration + 1; iteration <= train.iterations(); iteration++) {
            if (!iterate(iteration)) {
                break;
            }
        }
        if (inputs.evalPrompts() != null) {
            evalAfter = job.evaluate(context, inputs.evalPrompts(), workerSetup(kl.coef()), position.state.params(),
                    inputs.componentNames(), referenceWeights);
            metrics.append(RlJob.evalLine(train.iterations(), "eval_after", evalAfter));
            LOG.info("Held-out reward after: {}", evalAfter);
        }
        metrics.append(MetricsLog.event("end", "iterations_run", run, "checkpoint", lastCheckpoint, "stopped",
                stopReason));
        Map<String, Double> seconds = new LinkedHashMap<>();
        for (Map.Entry<String, Double> entry : timeSums.entrySet()) {
            seconds.put(entry.getKey(), run == 0 ? 0 : entry.getValue() / run);
        }
        return new RlResult(directory.path(), lastCheckpoint, inputs.model(),
                RlJob.policyPart(position.state.params(), inputs.model()), inputs.tokenizer(), run, stopReason,
                evalBefore, evalAfter, firstReward, lastReward,
                rolloutSeconds == 0 ? 0 : completions / rolloutSeconds, seconds);
    }

    /** Runs {@code iteration}; false when a guard stops the run. */
    private boolean iterate(int iteration) {
        long iterationStart = System.nanoTime();
        RlWorkerSetup setup = workerSetup(klCoef());
        Rollouts sampled = rollouts(setup, iteration);
        UpdateInput input;
        String table;
        try {
            input = updateInput(sampled.rollouts(), sampled.surplus(), iteration);
            table = RolloutTable.write(spark, directory.files(), directory.path(), iteration, inputs.componentNames(),
                    sampled.sampled(), sampled.rollouts(), input.built().advantages(), input.built().used());
        } finally {
            sampled.release();
        }
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
        line.put("rollout_busy_s", sampled.busySeconds());
        line.put("rollout_setup_s", sampled.setupSeconds());
        line.put("rollout_idle_s", sampled.idleSeconds());
        line.put("update_s", updateWall);
        line.put("aggregation_s", Math.max(0, updateWall - updateCompute));
        line.put("iteration_s", iterationSeconds);
        ProcessMemory.addTo(line);
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
        RlJob.accumulate(timeSums, "iteration", iterationSeconds);
        RlJob.accumulate(timeSums, "generation", sampled.generationNanos() / 1e9);
        RlJob.accumulate(timeSums, "scoring", sampled.scoringNanos() / 1e9);
        RlJob.accumulate(timeSums, "logprobs", sampled.logProbNanos() / 1e9);
        RlJob.accumulate(timeSums, "rollout_idle", sampled.idleSeconds());
        RlJob.accumulate(timeSums, "update", updateWall);
        RlJob.accumulate(timeSums, "aggregation", Math.max(0, updateWall - updateCompute));
        LOG.info(String.format("iteration %d/%d  step %s  reward %.3f  kl %.4f  entropy %.3f  len %.1f  "
                        + "clip %.3f  zero-var %.2f%s  %.1f completions/s  %.1fs (gen %.1f, score %.1f, "
                        + "logp %.1f, rollout idle %.1f, update %.1f)  eta %s", iteration, config.train().iterations(),
                line.get("step"), rewardMean, (double) stats.get("kl"), (double) stats.get("entropy"),
                (double) stats.get("response_length"), update == null ? 0 : update.clipFraction(),
                (double) line.get("zero_variance_fraction"),
                sampled.batches() > 1 ? " (" + sampled.batches() + " batches)" : "", generated / rolloutWall,
                iterationSeconds,
                sampled.generationNanos() / 1e9, sampled.scoringNanos() / 1e9, sampled.logProbNanos() / 1e9,
                sampled.idleSeconds(), updateWall, RoundLoop.format(eta)));

        String breach = Guards.check(config.guards(), stats);
        if (breach != null) {
            line.put("guard_breach", breach);
            directory.metrics().append(line);
            return rollBack(iteration, breach);
        }
        // The rollouts just checked were sampled from position.state: that state is now known good (the update
        // below is not, until its own rollouts pass).
        position.lastGood = position.state;
        if (update != null) {
            position.state = update.state();
        }
        if (adaptive && !Double.isNaN((double) stats.get("kl_per_sequence"))) {
            kl.update((double) stats.get("kl_per_sequence"), (int) generated);
        }
        if (inputs.evalPrompts() != null && config.eval().everyIterations() > 0
                && iteration % config.eval().everyIterations() == 0 && iteration < config.train().iterations()) {
            Map<String, Double> eval = job.evaluate(context, inputs.evalPrompts(), setup, position.state.params(),
                    inputs.componentNames(), referenceWeights);
            line.put("eval", eval);
            LOG.info("Held-out reward at iteration {}: {}", iteration, eval);
        }
        directory.metrics().append(line);
        checkpoint(iteration);
        return true;
    }

    /**
     * Samples the iteration's groups on the executors from the current policy, scored there. With
     * {@code dynamic_sampling_max_batches} > 1 (GRPO with dynamic sampling), batches of other prompts follow while
     * fewer than prompts_per_iteration groups carry a signal (DAPO); the groups with a signal past the first
     * prompts_per_iteration (in batch, then prompt order) are the surplus, which the update leaves out.
     */
    private Rollouts rollouts(RlWorkerSetup setup, int iteration) {
        Broadcast<float[]> policy = context.broadcast(position.state.params());
        List<JavaRDD<RolloutPartition>> persisted = new ArrayList<>();
        long rolloutStart = System.nanoTime();
        List<Batch> batches;
        try {
            batches = sampleBatches(setup, policy, iteration, persisted);
        } catch (RuntimeException e) {
            persisted.forEach(rdd -> rdd.unpersist(false));
            policy.destroy(false);
            throw e;
        }
        double rolloutWall = (System.nanoTime() - rolloutStart) / 1e9;
        Rollouts rollouts = collect(batches, rolloutWall, persisted, policy);
        if (rollouts.failures() > 0) {
            Rollout example = rollouts.rollouts().stream().filter(Rollout::failed).findFirst().orElseThrow();
            LOG.warn("Iteration {}: {} of {} rewards failed and are left out of the update; first: {}",
                    iteration, rollouts.failures(), rollouts.rollouts().size(), example.failure());
        }
        return rollouts;
    }

    /** The first batch, then (with refills) batches of prompts not yet sampled while too few groups carry a signal. */
    private List<Batch> sampleBatches(RlWorkerSetup setup, Broadcast<float[]> policy, int iteration,
                                      List<JavaRDD<RolloutPartition>> persisted) {
        List<Batch> batches = new ArrayList<>();
        Set<Long> taken = new HashSet<>();
        int signal = 0;
        for (int batch = 0; batch < config.algorithm().dynamicSamplingMaxBatches() && signal < perIteration; batch++) {
            Set<Long> chosen = batch == 0
                    ? RlJob.choose(inputs.promptCount(), perIteration, iteration, config.rollout().seed())
                    : RlJob.chooseMore(inputs.promptCount(), perIteration, iteration, batch, config.rollout().seed(),
                            taken);
            if (chosen.isEmpty()) {
                LOG.warn("Iteration {}: every prompt was sampled in {} batches and {} groups of {} carry a signal",
                        iteration, batch, signal, perIteration);
                break;
            }
            taken.addAll(chosen);
            Batch sampled = sampleBatch(setup, policy, chosen, iteration, batch, persisted);
            batches.add(sampled);
            signal += BatchBuilder.signalGroups(sampled.rollouts(), config.algorithm()).size();
        }
        return batches;
    }

    /**
     * The batches' rollouts in (prompt, sample) order, the surplus groups, and the stage's times: per batch the
     * slowest partition's generation, scoring and log-prob times and the partitions' task time over the task slots
     * that ran them, summed over the batches.
     */
    private Rollouts collect(List<Batch> batches, double wallSeconds, List<JavaRDD<RolloutPartition>> persisted,
                             Broadcast<float[]> policy) {
        List<Rollout> rollouts = new ArrayList<>();
        Set<Long> surplus = new HashSet<>();
        int kept = 0;
        int prompts = 0;
        long generationNanos = 0;
        long scoringNanos = 0;
        long logProbNanos = 0;
        long failures = 0;
        double busySeconds = 0;
        double setupSeconds = 0;
        JavaRDD<RolloutPartition> all = null;
        for (Batch batch : batches) {
            for (long prompt : BatchBuilder.signalGroups(batch.rollouts(), config.algorithm())) {
                if (++kept > perIteration) {
                    surplus.add(prompt);
                }
            }
            rollouts.addAll(batch.rollouts());
            prompts += batch.prompts();
            long taskNanos = 0;
            long setupNanos = 0;
            int working = 0;
            long slowestGeneration = 0;
            long slowestScoring = 0;
            long slowestLogProbs = 0;
            for (RolloutPartition part : batch.parts()) {
                slowestGeneration = Math.max(slowestGeneration, part.generationNanos());
                slowestScoring = Math.max(slowestScoring, part.scoringNanos());
                slowestLogProbs = Math.max(slowestLogProbs, part.logProbNanos());
                failures += part.rewardFailures();
                taskNanos += part.taskNanos();
                setupNanos += part.taskNanos() - part.generationNanos() - part.scoringNanos() - part.logProbNanos();
                working += part.rollouts().isEmpty() ? 0 : 1;
            }
            generationNanos += slowestGeneration;
            scoringNanos += slowestScoring;
            logProbNanos += slowestLogProbs;
            int slots = Math.max(1, Math.min(working, taskSlots()));
            busySeconds += taskNanos / 1e9 / slots;
            setupSeconds += setupNanos / 1e9 / slots;
            all = all == null ? batch.sampled() : all.union(batch.sampled());
        }
        rollouts.sort(Comparator.comparingLong(Rollout::promptIndex).thenComparingInt(Rollout::sample));
        return new Rollouts(rollouts, failures, wallSeconds, generationNanos, scoringNanos, logProbNanos, busySeconds,
                setupSeconds, batches.size(), prompts, surplus, all, persisted, policy);
    }

    /**
     * Samples the {@code chosen} prompts' groups (batch {@code batch} of the iteration), keeping them on the
     * executors (in {@code persisted}) until the rollout table is written from them; the policy stays broadcast
     * until then, so a lost cached partition is sampled again, identically.
     */
    private Batch sampleBatch(RlWorkerSetup setup, Broadcast<float[]> policy, Set<Long> chosen, int iteration,
                              int batch, List<JavaRDD<RolloutPartition>> persisted) {
        context.setJobDescription("whetstone " + algorithmName + ": iteration " + iteration + " rollouts ("
                + (batch == 0 ? "" : "refill " + batch + ", ") + chosen.size() + " prompts x "
                + config.rollout().groupSize() + ")");
        long version = position.state.step();
        int group = config.rollout().groupSize();
        Broadcast<io.whetstone.models.engine.FrozenParams> reference = referenceWeights;
        JavaRDD<RolloutPartition> sampled = inputs.prompts().filter(p -> chosen.contains(p.index()))
                .mapPartitions(rows -> RolloutWorker.run(setup, policy.value(), reference::value, rows,
                        iteration, version, group, false)).persist(StorageLevel.MEMORY_AND_DISK());
        persisted.add(sampled);
        List<RolloutPartition> parts = sampled.collect();
        List<Rollout> rollouts = new ArrayList<>();
        parts.forEach(part -> rollouts.addAll(part.rollouts()));
        rollouts.sort(Comparator.comparingLong(Rollout::promptIndex).thenComparingInt(Rollout::sample));
        return new Batch(sampled, chosen.size(), parts, rollouts);
    }

    /** Tasks that run at once: the cluster's cores over spark.task.cpus. */
    private int taskSlots() {
        int cpus = context.getConf().getInt("spark.task.cpus", 1);
        return Math.max(1, context.sc().defaultParallelism() / Math.max(1, cpus));
    }

    /** Advantages of the groups, then the replayed SFT rows (a fraction of the rollout rows). */
    private UpdateInput updateInput(List<Rollout> rollouts, Set<Long> surplus, int iteration) {
        BatchBuilder.Built built = BatchBuilder.build(rollouts, config.algorithm(), klCoef(), surplus);
        List<UpdateRow> rows = new ArrayList<>(built.rows());
        int replayed = 0;
        if (inputs.replay() != null && !rows.isEmpty()) {
            List<PackedSequence> extra = job.sampleReplay(inputs.replay(), inputs.replayCount(),
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
        line.put("generation_batches", sampled.batches());
        line.put("sampled_prompts", sampled.prompts());
        line.put("surplus_groups", built.surplusGroups());
        line.put("masked_truncated", built.maskedTruncated());
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
        boolean canRollBack = position.lastGood != null && position.lastGood != position.state;
        if (guards.action().equals("rollback") && position.rollbacks < guards.maxRollbacks() && canRollBack) {
            position.rollbacks++;
            position.lrScale *= guards.rollbackLrFactor();
            position.state = position.lastGood;
            LOG.warn("Iteration {}: {}; rolling back to the last state whose rollouts passed the guards (step {}) "
                            + "with the learning rate scaled by {} (rollback {} of {})", iteration, breach,
                    position.state.step(), position.lrScale, position.rollbacks, guards.maxRollbacks());
            directory.metrics().append(new LinkedHashMap<>(Map.of("event", "rollback", "iteration", iteration,
                    "reason", breach, "to_step", position.state.step(), "lr_scale", position.lrScale)));
            return true;
        }
        String why = !guards.action().equals("rollback") ? ""
                : position.lastGood == null ? " (nothing to roll back to: no state has passed the guards since the "
                        + "run started)"
                : !canRollBack ? " (nothing to roll back to: this is the state of step " + position.state.step()
                        + " rolled back to, breaching on fresh rollouts; no earlier good state is kept)"
                : " (after " + position.rollbacks + " rollbacks)";
        stopReason = "iteration " + iteration + ": " + breach + why;
        LOG.error("Stopping: {}. {}", stopReason, lastCheckpoint == null ? "No checkpoint was written"
                : "The last checkpoint is " + lastCheckpoint);
        directory.metrics().append(new LinkedHashMap<>(Map.of("event", "stopped", "iteration", iteration,
                "reason", stopReason)));
        return false;
    }

    /** The checkpoint cadence (every checkpoint.every_rounds iterations and the last), then the injected failure. */
    private void checkpoint(int iteration) {
        if (cadence.checkpointDue(iteration)) {
            lastCheckpoint = job.writeCheckpoint(directory.checkpoints(), iteration, position.state,
                    position.lastGood, inputs.model(),
                    inputs.tokenizer(), directory.resolved(), job.headLength(inputs.model()),
                    ppo ? kl.coef() : position.klCoef, position.lrScale, position.rollbacks);
            directory.checkpoints().prune(config.checkpoint().keepLast());
            LOG.info("Checkpoint written: {}", lastCheckpoint);
        }
        cadence.failIfInjected(iteration);
    }
}
