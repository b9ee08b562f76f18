package io.whetstone.jobs.engine;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.train.Trainer;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/** The work of one partition in one round, run inside a Spark task. */
final class PartitionWorker {

    private PartitionWorker() {
    }

    /** Averaging mode on packed SFT rows. */
    static Iterator<PartitionResult> averaging(WorkerSetup setup, TrainingState state, Supplier<io.whetstone.models.engine.FrozenParams> base,
                                               Supplier<io.whetstone.models.engine.FrozenParams> teacher, int round, int partition,
                                               Iterator<PackedSequence> rows) {
        return averaging(setup, PackedRows.INSTANCE, state, base, teacher, round, partition, rows);
    }

    /**
     * Averaging mode: local steps from the broadcast state; returns the new state weighted by the objective's
     * normaliser units (tokens for SFT, pairs for preferences). A step the adapter selects no rows for is
     * skipped; a partition with no rows in any step returns an empty result.
     */
    static <R> Iterator<PartitionResult> averaging(WorkerSetup setup, RowAdapter<R> adapter, TrainingState state,
                                                   Supplier<io.whetstone.models.engine.FrozenParams> base, Supplier<io.whetstone.models.engine.FrozenParams> teacher, int round,
                                                   int partition, Iterator<R> rows) {
        List<R> shard = collect(rows);
        Nd4jThreads.apply(setup.engine().threads());
        WorkerModels.Bundle bundle = WorkerModels.acquire(setup, base, teacher);
        try {
            long start = System.nanoTime();
            state.restore(bundle.model(), bundle.optimizer());
            double lossSum = 0;
            double units = 0;
            double trained = 0;
            double gradNorms = 0;
            long rowCount = 0;
            long steps = 0;
            Map<String, Double> metrics = new TreeMap<>();
            for (int step = 0; step < setup.localSteps(); step++) {
                List<R> batch = adapter.select(setup, shard, round, step, partition);
                if (batch.isEmpty()) {
                    continue;
                }
                RowAdapter.Step input = adapter.step(setup, bundle, batch, round, step, partition);
                Trainer.StepStats stats = input.trainer().step(input.batches());
                lossSum += stats.loss() * stats.maskedTokens();
                units += stats.maskedTokens();
                trained += input.trainedTokens();
                gradNorms += stats.gradNorm();
                rowCount += batch.size();
                steps++;
                stats.metrics().forEach((name, value) -> metrics.merge(name, value, Double::sum));
            }
            if (steps == 0) {
                return List.of(PartitionResult.empty(partition)).iterator();
            }
            TrainingState after = TrainingState.capture(bundle.model(), bundle.optimizer());
            return List.of(new PartitionResult(partition, after.params(), after.optimizerState(), units, lossSum,
                    units, rowCount, System.nanoTime() - start, trained, metrics, steps, gradNorms)).iterator();
        } finally {
            WorkerModels.release(bundle);
        }
    }

    /** Gradient mode on packed SFT rows. */
    static Iterator<PartitionResult> gradient(WorkerSetup setup, TrainingState state, Supplier<io.whetstone.models.engine.FrozenParams> base,
                                              Supplier<io.whetstone.models.engine.FrozenParams> teacher, int round, int partition,
                                              Iterator<PackedSequence> rows) {
        return gradient(setup, PackedRows.INSTANCE, state, base, teacher, round, partition, rows);
    }

    /**
     * Gradient mode: the gradient of the unnormalised loss of one batch at the broadcast parameters (an empty
     * result when the adapter selects no rows of this partition for the round).
     */
    static <R> Iterator<PartitionResult> gradient(WorkerSetup setup, RowAdapter<R> adapter, TrainingState state,
                                                  Supplier<io.whetstone.models.engine.FrozenParams> base, Supplier<io.whetstone.models.engine.FrozenParams> teacher, int round,
                                                  int partition, Iterator<R> rows) {
        List<R> shard = collect(rows);
        List<R> batch = adapter.select(setup, shard, round, 0, partition);
        if (batch.isEmpty()) {
            return List.of(PartitionResult.empty(partition)).iterator();
        }
        Nd4jThreads.apply(setup.engine().threads());
        WorkerModels.Bundle bundle = WorkerModels.acquire(setup, base, teacher);
        try {
            long start = System.nanoTime();
            TrainingState.copyInto(state.params(), bundle.model().trainableParameters().params());
            RowAdapter.Step input = adapter.step(setup, bundle, batch, round, 0, partition);
            Trainer.Summed summed = input.trainer().accumulateSum(input.batches());
            float[] gradient = TrainingState.toFloats(bundle.model().trainableParameters().grads());
            return List.of(new PartitionResult(partition, gradient, new float[0][], 1.0, summed.loss(),
                    summed.normalizer(), batch.size(), System.nanoTime() - start, input.trainedTokens(),
                    summed.metrics(), 1, 0)).iterator();
        } finally {
            WorkerModels.release(bundle);
        }
    }

    static TokenBatch toTokenBatch(List<PackedSequence> rows) {
        return PackedRows.toTokenBatch(rows);
    }

    private static <R> List<R> collect(Iterator<R> rows) {
        List<R> shard = new ArrayList<>();
        rows.forEachRemaining(shard::add);
        return shard;
    }
}
