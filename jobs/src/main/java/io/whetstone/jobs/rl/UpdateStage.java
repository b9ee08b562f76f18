package io.whetstone.jobs.rl;

import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.Kernels;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.optim.Optimizer;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The update of one iteration over the partitions. Minibatches are assigned on the driver (a seeded
 * shuffle per epoch), so they do not depend on the partitioning. Gradient mode: for every minibatch the
 * driver broadcasts the parameters, every partition returns the gradient of its share (normalised by
 * the whole minibatch's tokens or sequences), the driver sums them and takes the optimiser step: the
 * same step one worker would take on the whole minibatch. Averaging mode: each partition takes all its
 * minibatch steps locally and the driver averages parameters and moments weighted by tokens.
 */
final class UpdateStage implements AutoCloseable {

    private final JavaSparkContext context;
    private final boolean averaging;
    private final int partitions;
    private final LrSchedule schedule;
    private final String description;
    private ParameterStore store;
    private Kernels kernels;
    private Optimizer optimizer;

    UpdateStage(JavaSparkContext context, boolean averaging, int partitions, LrSchedule schedule, String description) {
        this.context = context;
        this.averaging = averaging;
        this.partitions = partitions;
        this.schedule = schedule;
        this.description = description;
    }

    /** What an update did. */
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
            java.util.Collections.shuffle(order, new Random(seed * 1_000_003L + iteration * 7919L + epoch));
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

    Report run(RlWorkerSetup setup, List<UpdateRow> rows, TrainingState state, int epochs, int minibatches,
               double lrScale, double replayCoef, long iteration) {
        long start = System.nanoTime();
        JavaRDD<UpdateRow> data = context.parallelize(rows, Math.max(1, Math.min(partitions, rows.size())))
                .persist(StorageLevel.MEMORY_ONLY());
        try {
            return averaging ? averaged(setup, data, state, epochs, minibatches, lrScale, replayCoef, iteration, start)
                    : synchronous(setup, data, rows, state, epochs, minibatches, lrScale, replayCoef, iteration, start);
        } finally {
            data.unpersist(false);
        }
    }

    private Report synchronous(RlWorkerSetup setup, JavaRDD<UpdateRow> data, List<UpdateRow> rows, TrainingState state, int epochs,
                               int minibatches, double lrScale, double replayCoef, long iteration, long start) {
        if (store == null) {
            store = new ParameterStore(PolicyParameters.layout(setup.model(), setup.valueHead()), DataType.FLOAT);
            kernels = setup.engine().kernels().create(DataType.FLOAT, setup.engine().threads());
            optimizer = OptimizerKind.parse(setup.optimizer()).create(store, kernels, setup.adamw());
        }
        state.restore(store.params(), optimizer);
        RlWorkerSetup taskSetup = setup;
        StepSum total = new StepSum();
        double gradNorm = 0;
        double rate = 0;
        long steps = 0;
        long compute = 0;
        for (int epoch = 0; epoch < epochs; epoch++) {
            for (int m = 0; m < minibatches; m++) {
                List<UpdateRow> members = new ArrayList<>();
                for (UpdateRow row : rows) {
                    if (row.minibatches()[epoch] == m) {
                        members.add(row);
                    }
                }
                if (members.isEmpty()) {
                    continue;
                }
                UpdateWorker.Norms norms = UpdateWorker.Norms.of(members);
                Broadcast<float[]> params = context.broadcast(TrainingState.toFloats(store.params()));
                try {
                    context.setJobDescription(description + ": iteration " + iteration + " update, epoch "
                            + (epoch + 1) + " minibatch " + (m + 1) + "/" + minibatches);
                    int e = epoch;
                    int mb = m;
                    StepSum sum = data.mapPartitions(part -> UpdateWorker.gradient(taskSetup, params.value(), part, e,
                            mb, norms, replayCoef)).treeAggregate(new StepSum(), StepSum::add, StepSum::merge, 2);
                    if (sum.vector == null) {
                        continue;
                    }
                    // The partitions' losses are already divided by the minibatch's normalisers: sum, not mean.
                    TrainingState.copyInto(StepSum.mean(sum.vector, 1.0), store.grads());
                    rate = schedule.rate(optimizer.step() + 1) * lrScale;
                    Optimizer.Update update = optimizer.apply(rate);
                    gradNorm += update.gradNorm();
                    steps++;
                    compute += sum.maxComputeNanos;
                    total = total.merge(copyStats(sum));
                } finally {
                    params.destroy();
                }
            }
        }
        TrainingState next = TrainingState.capture(store.params(), optimizer);
        return report(next, total, steps, steps == 0 ? 0 : gradNorm / steps, rate, compute, start);
    }

    private Report averaged(RlWorkerSetup setup, JavaRDD<UpdateRow> data, TrainingState state, int epochs, int minibatches, double lrScale,
                            double replayCoef, long iteration, long start) {
        Broadcast<TrainingState> broadcast = context.broadcast(state);
        try {
            context.setJobDescription(description + ": iteration " + iteration + " update (local steps, averaging)");
            RlWorkerSetup taskSetup = setup;
            LrSchedule taskSchedule = schedule;
            StepSum sum = data.mapPartitions(part -> UpdateWorker.local(taskSetup, broadcast.value(), part, epochs,
                    minibatches, taskSchedule, lrScale, replayCoef)).treeAggregate(new StepSum(), StepSum::add,
                    StepSum::merge, 2);
            if (sum.vector == null) {
                return report(state, new StepSum(), 0, 0, 0, 0, start);
            }
            float[][] moments = new float[sum.moments.length][];
            for (int k = 0; k < moments.length; k++) {
                moments[k] = StepSum.mean(sum.moments[k], sum.weight);
            }
            TrainingState next = new TrainingState(sum.mean(), moments, state.step() + sum.steps);
            return report(next, sum, sum.steps, Double.NaN, schedule.rate(next.step()) * lrScale, sum.maxComputeNanos,
                    start);
        } finally {
            broadcast.destroy();
        }
    }

    private static StepSum copyStats(StepSum sum) {
        StepSum stats = new StepSum();
        stats.vector = new double[0];
        stats.moments = new double[0][];
        stats.policyLoss = sum.policyLoss;
        stats.valueLoss = sum.valueLoss;
        stats.replayLoss = sum.replayLoss;
        stats.klSum = sum.klSum;
        stats.clippedTokens = sum.clippedTokens;
        stats.tokens = sum.tokens;
        stats.ratioSum = sum.ratioSum;
        stats.valueClipped = sum.valueClipped;
        return stats;
    }

    private static Report report(TrainingState next, StepSum total, long steps, double gradNorm, double rate,
                                 long computeNanos, long start) {
        double tokens = Math.max(1, total.tokens);
        double perStep = Math.max(1, steps);
        return new Report(next, total.policyLoss / perStep, total.valueLoss / perStep, total.replayLoss / perStep,
                total.klSum, total.clippedTokens / tokens, total.ratioSum / tokens, total.valueClipped / tokens,
                gradNorm, rate, steps, computeNanos / 1e9, (System.nanoTime() - start) / 1e9);
    }

    @Override
    public void close() {
        if (kernels instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
