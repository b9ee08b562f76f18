package io.whetstone.jobs.rl;

import io.whetstone.jobs.engine.DistributedTrainer;
import io.whetstone.jobs.engine.RoundReport;
import io.whetstone.jobs.engine.WorkerSetup;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.rl.ClippedPolicyLoss;
import io.whetstone.models.rl.PolicyObjective;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;

/**
 * The update of one RL iteration, on the shared data-parallel update ({@link DistributedTrainer}) with the
 * policy objective ({@link PolicyObjective}). Minibatches are assigned on the driver (a seeded shuffle per
 * epoch), so they do not depend on the partitioning. Gradient mode: one round per minibatch; every partition
 * returns the gradient of its share, the driver sums them and takes the optimiser step: the step one worker
 * would take on the whole minibatch. Averaging mode: one round whose local steps are the minibatches; the
 * driver averages parameters and moments weighted by the tokens each partition trained on.
 */
final class UpdateStage {

    private final JavaSparkContext context;
    private final DistributedTrainer.Mode mode;
    private final int partitions;
    private final LrSchedule schedule;
    private final String description;

    UpdateStage(JavaSparkContext context, boolean averaging, int partitions, LrSchedule schedule, String description) {
        this.context = context;
        this.mode = averaging ? DistributedTrainer.Mode.AVERAGING : DistributedTrainer.Mode.GRADIENT;
        this.partitions = partitions;
        this.schedule = schedule;
        this.description = description;
    }

    /** What an update did: means over its optimiser steps, and fractions of the policy's counted tokens. */
    record Report(TrainingState state, double policyLoss, double valueLoss, double replayLoss, double klSum,
                  double clipFraction, double meanRatio, double valueClipFraction, double gradNorm, double learningRate,
                  long steps, double computeSeconds, double wallSeconds) {
    }

    /**
     * Assigns every row its minibatch per epoch: the groups (a prompt's completions; each replayed row on its
     * own) in an order shuffled by (seed, iteration, epoch), cut into minibatches of about equal rows. A group
     * stays whole in one minibatch: its advantages sum to zero, so on the tokens its completions share (most
     * of them, when answers differ in a digit) they cancel within every step. Split across minibatches, each
     * step gave those shared tokens a net push of random sign, noise that on the built-in task swamped the
     * signal of the few tokens where right and wrong answers differ.
     */
    static List<UpdateRow> assignMinibatches(List<UpdateRow> rows, int epochs, int minibatches, long seed,
                                             long iteration) {
        Map<Long, List<Integer>> byGroup = new LinkedHashMap<>();
        List<List<Integer>> units = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            long group = rows.get(i).group();
            if (group < 0) {
                units.add(List.of(i));
            } else {
                byGroup.computeIfAbsent(group, k -> {
                    List<Integer> members = new ArrayList<>();
                    units.add(members);
                    return members;
                }).add(i);
            }
        }
        int[][] assignment = new int[rows.size()][epochs];
        for (int epoch = 0; epoch < epochs; epoch++) {
            List<List<Integer>> order = new ArrayList<>(units);
            Collections.shuffle(order, new Random(seed * 1_000_003L + iteration * 7919L + epoch));
            long position = 0;
            for (List<Integer> unit : order) {
                // the minibatch of the unit's first row in the shuffled row order
                int minibatch = (int) (position * minibatches / rows.size());
                for (int i : unit) {
                    assignment[i][epoch] = minibatch;
                }
                position += unit.size();
            }
        }
        List<UpdateRow> out = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            out.add(rows.get(i).withMinibatches(assignment[i]));
        }
        return out;
    }

    /**
     * {@code rows} cut into {@code count} contiguous slices of (nearly) equal size, the cut Spark's
     * {@code parallelize} makes: slice i holds positions [i n / count, (i + 1) n / count).
     */
    static <T> List<List<T>> slices(List<T> rows, int count) {
        List<List<T>> out = new ArrayList<>(count);
        long n = rows.size();
        for (int i = 0; i < count; i++) {
            out.add(new ArrayList<>(rows.subList((int) (i * n / count), (int) ((i + 1) * n / count))));
        }
        return out;
    }

    /** The setup of the partitions' work: the policy objective on a model with PPO's value head when it has one. */
    private WorkerSetup workerSetup(RlWorkerSetup setup, int localSteps, double lrScale, double replayCoef) {
        var algorithm = setup.algorithm();
        // PPO folds the KL into the reward; GRPO keeps it in the loss
        WorkerSetup.PolicySetup policy = new WorkerSetup.PolicySetup(algorithm.clipLow(), algorithm.clipHigh(),
                algorithm.ppo() ? 0 : setup.klCoef(), ClippedPolicyLoss.Normalization.parse(
                        algorithm.lossNormalization()), algorithm.clipRatioC(),
                ClippedPolicyLoss.Ratio.parse(algorithm.importanceSamplingLevel()), setup.valueHead(),
                algorithm.valueClip(), algorithm.valueCoef(), replayCoef, setup.rollout().temperature());
        return new WorkerSetup(setup.model(), setup.engine(), setup.optimizer(), setup.adamw(), schedule.scaled(lrScale),
                1, localSteps, setup.rollout().seed(), null, 0, null, null, policy);
    }

    /** Runs the update of {@code rows} (minibatches assigned) from {@code state}. */
    Report run(RlWorkerSetup setup, List<UpdateRow> rows, TrainingState state, int epochs, int minibatches,
               double lrScale, double replayCoef, long iteration) {
        long start = System.nanoTime();
        RolloutRows adapter = RolloutRows.of(rows, epochs, minibatches, mode == DistributedTrainer.Mode.AVERAGING,
                ClippedPolicyLoss.Normalization.parse(setup.algorithm().lossNormalization()),
                setup.rollout().microBatch());
        int steps = adapter.steps();
        WorkerSetup workerSetup = workerSetup(setup, mode == DistributedTrainer.Mode.AVERAGING ? steps : 1, lrScale,
                replayCoef);
        List<Broadcast<List<UpdateRow>>> slices = new ArrayList<>();
        for (List<UpdateRow> slice : slices(rows, Math.max(1, Math.min(partitions, rows.size())))) {
            slices.add(context.broadcast(slice));
        }
        List<Integer> indices = new ArrayList<>();
        for (int i = 0; i < slices.size(); i++) {
            indices.add(i);
        }
        // Each task carries a broadcast handle, not its rows: parallelize(rows) put every partition's rows into
        // its task, shipped again in every round (Spark's "task of very large size" warning). The broadcast is
        // fetched once by the executor that first runs the partition; the cached partition keeps later rounds there.
        JavaRDD<UpdateRow> data = context.parallelize(indices, indices.size())
                .mapPartitions(index -> slices.get(index.next()).value().iterator(), true)
                .persist(StorageLevel.MEMORY_ONLY());
        Sums sums = new Sums();
        try (DistributedTrainer<UpdateRow> trainer = new DistributedTrainer<>(context, data, adapter, workerSetup, mode,
                description + ": iteration " + iteration + " update", null, null)) {
            int rounds = mode == DistributedTrainer.Mode.AVERAGING ? 1 : steps;
            for (int round = 1; round <= rounds; round++) {
                RoundReport report = trainer.round(state, round);
                state = report.state();
                sums.add(report);
            }
        } finally {
            data.unpersist(false);
            slices.forEach(slice -> slice.destroy(false));
        }
        return sums.report(state, (System.nanoTime() - start) / 1e9);
    }

    /** The rounds' numbers, added up. */
    private static final class Sums {
        double policyLoss;
        double valueLoss;
        double replayLoss;
        double kl;
        double clipped;
        double tokens;
        double ratios;
        double valueClipped;
        double gradNorm;
        double learningRate;
        long steps;
        double compute;
        int rounds;

        void add(RoundReport report) {
            Map<String, Double> m = report.metrics();
            // loss sums are in the round's normaliser units: divided by them, the round's mean loss per step
            policyLoss += m.getOrDefault(PolicyObjective.POLICY_LOSS, 0.0) / report.tokens();
            valueLoss += m.getOrDefault(PolicyObjective.VALUE_LOSS, 0.0) / report.tokens();
            replayLoss += m.getOrDefault(PolicyObjective.REPLAY_LOSS, 0.0) / report.tokens();
            kl += m.getOrDefault(PolicyObjective.KL, 0.0);
            clipped += m.getOrDefault(PolicyObjective.CLIPPED, 0.0);
            tokens += m.getOrDefault(PolicyObjective.POLICY_TOKENS, 0.0);
            ratios += m.getOrDefault(PolicyObjective.RATIOS, 0.0);
            valueClipped += m.getOrDefault(PolicyObjective.VALUE_CLIPPED, 0.0);
            gradNorm += report.gradNorm();
            learningRate = report.learningRate();
            steps += report.steps();
            compute += report.maxComputeSeconds();
            rounds++;
        }

        Report report(TrainingState state, double wall) {
            double perRound = Math.max(1, rounds);
            double counted = Math.max(1, tokens);
            return new Report(state, policyLoss / perRound, valueLoss / perRound, replayLoss / perRound, kl,
                    clipped / counted, ratios / counted, valueClipped / counted, gradNorm / perRound, learningRate,
                    steps, compute, wall);
        }
    }
}
