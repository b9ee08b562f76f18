package io.whetstone.jobs.engine;

import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.Kernels;
import io.whetstone.models.optim.Optimizer;
import io.whetstone.models.train.TrainingState;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Data-parallel training over a Spark RDD of shards, one round at a time.
 *
 * <p>Averaging: the driver broadcasts parameters and optimiser state; each partition takes
 * {@code localSteps} steps on its shard; the driver averages parameters and optimiser moments weighted
 * by the tokens each partition trained on. Gradient aggregation: the driver broadcasts parameters; each
 * partition returns the gradient of its batch's token-summed loss; the driver sums them, divides by the
 * round's token count and takes one optimiser step itself, which equals one worker training on the
 * union of the batches.
 */
public final class DistributedTrainer<R> implements AutoCloseable {

    /** How partitions are combined. */
    public enum Mode {
        AVERAGING, GRADIENT;

        public static Mode parse(String name) {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        }
    }

    private final JavaSparkContext context;
    private final JavaRDD<R> shards;
    private final RowAdapter<R> adapter;
    private final WorkerSetup setup;
    private final Mode mode;
    private final String description;
    private final Broadcast<io.whetstone.models.engine.FrozenParams> base;
    private final Broadcast<io.whetstone.models.engine.FrozenParams> teacher;
    /**
     * Depth of Spark's tree aggregation of the partitions' sums ({@code spark.whetstone.aggregation.depth}, default
     * 2): executors merge partial sums in rounds, so the driver receives about partitions^(1/depth) vectors, not one
     * per partition. Raise it with hundreds of partitions.
     */
    private final int aggregationDepth;
    private ParameterStore driverStore;
    private Kernels driverKernels;
    private Optimizer driverOptimizer;

    /** Packed SFT rows; {@code shards} should be persisted: every round reads it. */
    public static DistributedTrainer<PackedSequence> sft(JavaSparkContext context, JavaRDD<PackedSequence> shards,
                                                         WorkerSetup setup, Mode mode, String description) {
        return new DistributedTrainer<>(context, shards, PackedRows.INSTANCE, setup, mode, description, null, null);
    }

    /**
     * Rows of the kind {@code adapter} reads ({@code shards} should be persisted: every round reads it). With
     * LoRA ({@code setup.lora()} set), {@code base} holds the frozen base parameters, broadcast once for the whole
     * run; rounds then move only the adapters and their optimiser state.
     * With a teacher that runs on the executors ({@code setup.teacher()} without top-k), {@code teacher} holds its
     * parameters, broadcast once for the whole run; each executor builds the teacher once and the objective
     * distils from it. With top-k the rows carry the teacher's targets and nothing is broadcast.
     */
    public DistributedTrainer(JavaSparkContext context, JavaRDD<R> shards, RowAdapter<R> adapter, WorkerSetup setup,
                              Mode mode, String description, Broadcast<io.whetstone.models.engine.FrozenParams> base, Broadcast<io.whetstone.models.engine.FrozenParams> teacher) {
        if ((setup.teacher() == null || !setup.teacher().runsTeacher()) != (teacher == null)) {
            throw new IllegalStateException("a teacher is broadcast exactly when the setup runs one");
        }
        if ((setup.lora() == null) != (base == null)) {
            throw new IllegalStateException("a frozen base is broadcast exactly when adapters train");
        }
        if (mode == Mode.GRADIENT && setup.localSteps() != 1) {
            throw new IllegalStateException("gradient aggregation takes one step per round, got "
                    + setup.localSteps() + " local steps");
        }
        this.context = context;
        this.shards = shards;
        this.adapter = adapter;
        this.setup = setup;
        this.mode = mode;
        this.description = description;
        this.base = base;
        this.teacher = teacher;
        this.aggregationDepth = context.getConf().getInt(AGGREGATION_DEPTH, 2);
        if (aggregationDepth < 1) {
            throw new io.whetstone.jobs.config.ConfigException(AGGREGATION_DEPTH + " must be >= 1, got "
                    + aggregationDepth);
        }
    }

    /** The Spark setting for {@link #aggregationDepth}. */
    public static final String AGGREGATION_DEPTH = "spark.whetstone.aggregation.depth";

    /**
     * Runs round {@code round} (1-based) from {@code state}. Its wall time is split into: the broadcast (the driver
     * serialising the state into blocks, plus the slowest task's fetch and deserialisation of them), compute (the
     * partitions' steps on the critical path), the driver's step (averaging, or the optimiser step) and the rest,
     * reported as aggregation: task launch, serialising and sending the results, and the tree merge.
     */
    public RoundReport round(TrainingState state, int round) {
        long start = System.nanoTime();
        TrainingState sent = mode == Mode.AVERAGING ? state
                : new TrainingState(state.params(), new float[0][], state.step());
        Broadcast<TrainingState> broadcast = context.broadcast(sent);
        long broadcastMade = System.nanoTime();
        long stateBytes = 4L * sent.params().length * (1 + sent.optimizerState().length);
        WorkerSetup taskSetup = setup;
        RowAdapter<R> taskAdapter = adapter;
        Mode taskMode = mode;
        Broadcast<io.whetstone.models.engine.FrozenParams> taskBase = base;
        Broadcast<io.whetstone.models.engine.FrozenParams> taskTeacher = teacher;
        try {
            context.setJobDescription(description + ": round " + round + " (" + mode.name().toLowerCase(Locale.ROOT)
                    + ", " + setup.localSteps() + " local step(s) of " + setup.batchSize() + " rows per partition)");
            JavaRDD<PartitionResult> results = shards.mapPartitionsWithIndex((partition, rows) -> {
                long fetchStart = System.nanoTime();
                TrainingState received = broadcast.value();
                long fetch = System.nanoTime() - fetchStart;
                java.util.Iterator<PartitionResult> out = taskMode == Mode.AVERAGING
                        ? PartitionWorker.averaging(taskSetup, taskAdapter, received,
                                () -> taskBase == null ? null : taskBase.value(),
                                () -> taskTeacher == null ? null : taskTeacher.value(), round, partition, rows)
                        : PartitionWorker.gradient(taskSetup, taskAdapter, received,
                                () -> taskBase == null ? null : taskBase.value(),
                                () -> taskTeacher == null ? null : taskTeacher.value(), round, partition, rows);
                java.util.List<PartitionResult> timed = new java.util.ArrayList<>(1);
                out.forEachRemaining(result -> timed.add(result.withFetchNanos(fetch)));
                return timed.iterator();
            }, true);
            RoundSum sum = results.treeAggregate(new RoundSum(), RoundSum::add, RoundSum::merge, aggregationDepth);
            long aggregated = System.nanoTime();
            if (sum.isEmpty() || sum.tokens == 0) {
                throw new IllegalArgumentException("round " + round + " trained on no tokens: every row's trained "
                        + "positions are masked out (empty completions, or prompts that fill data.seq_len)");
            }
            sum.widen();
            TrainingState next;
            double gradNorm;
            if (mode == Mode.AVERAGING) {
                next = average(sum, state);
                gradNorm = sum.gradNormSum / Math.max(1, sum.steps * (double) sum.partitions);
            } else {
                Optimizer.Update update = step(sum, state);
                next = TrainingState.capture(driverStore.params(), driverOptimizer);
                gradNorm = update.gradNorm();
            }
            long stepped = System.nanoTime();
            double wall = (stepped - start) / 1e9;
            // Tasks that cannot all run at once (fewer task slots than partitions) run in waves; the
            // compute on the critical path is the total compute spread over the slots, at least the
            // slowest task.
            int slots = Math.max(1, Math.min(sum.partitions, taskSlots()));
            double job = (aggregated - broadcastMade) / 1e9;
            double compute = Math.min(job, Math.max(sum.maxComputeNanos, sum.totalComputeNanos / (double) slots) / 1e9);
            double tasks = Math.min(job, Math.max(sum.maxTaskNanos, sum.totalTaskNanos / (double) slots) / 1e9);
            // the tasks' critical path beyond their compute is fetching the state (one task's fetch can overlap
            // another's compute, so this is at most the slowest fetch); what is left of the job is aggregation
            double fetch = Math.min(sum.maxFetchNanos / 1e9, Math.max(0, tasks - compute));
            double broadcastSeconds = (broadcastMade - start) / 1e9 + fetch;
            double driverStep = (stepped - aggregated) / 1e9;
            double aggregation = Math.max(0, job - compute - fetch);
            long returned = stateBytes * sum.partitions;
            return new RoundReport(round, next, sum.lossSum / sum.tokens, sum.tokens, sum.rows,
                    setup.schedule().rate(next.step()), wall, compute, Math.max(0, wall - compute), stateBytes,
                    mode == Mode.AVERAGING ? returned : 4L * sent.params().length * sum.partitions, sum.trainedTokens,
                    java.util.Map.copyOf(sum.metrics), mode == Mode.AVERAGING ? sum.steps : 1, gradNorm,
                    new RoundReport.Breakdown(broadcastSeconds, fetch, compute, aggregation, driverStep));
        } finally {
            broadcast.destroy();
        }
    }

    /** Tasks that can run at once: default parallelism (total cores) over spark.task.cpus. */
    private int taskSlots() {
        int cores = context.sc().defaultParallelism();
        int perTask = Integer.parseInt(context.getConf().get("spark.task.cpus", "1"));
        return Math.max(1, cores / perTask);
    }

    private TrainingState average(RoundSum sum, TrainingState before) {
        float[][] moments = new float[sum.optimizerState.length][];
        for (int k = 0; k < moments.length; k++) {
            moments[k] = RoundSum.mean(sum.optimizerState[k], sum.weight);
        }
        // partitions that skipped empty steps took fewer; the optimiser's count moves by the most any took
        return new TrainingState(RoundSum.mean(sum.params, sum.weight), moments, before.step() + sum.steps);
    }

    /** The driver's optimiser step on the summed gradient, divided by the summed normaliser units. */
    private Optimizer.Update step(RoundSum sum, TrainingState before) {
        if (driverStore == null) {
            driverStore = new ParameterStore(setup.trainableLayout(), DataType.FLOAT);
            driverKernels = setup.engine().kernels().create(DataType.FLOAT, setup.engine().threads());
            driverOptimizer = OptimizerKind.parse(setup.optimizer()).create(driverStore, driverKernels, setup.adamw());
        }
        before.restore(driverStore.params(), driverOptimizer);
        TrainingState.copyInto(RoundSum.mean(sum.params, sum.tokens), driverStore.grads());
        return driverOptimizer.apply(setup.schedule().rate(driverOptimizer.step() + 1));
    }

    @Override
    public void close() {
        if (driverKernels instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
