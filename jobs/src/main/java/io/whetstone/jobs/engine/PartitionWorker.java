package io.whetstone.jobs.engine;

import io.whetstone.datasets.pack.Batches;
import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.train.Trainer;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Supplier;

/** The work of one partition in one round, run inside a Spark task. */
final class PartitionWorker {

    private PartitionWorker() {
    }

    /** Averaging mode: local steps from the broadcast state; returns the new state weighted by tokens. */
    static Iterator<PartitionResult> averaging(WorkerSetup setup, TrainingState state, Supplier<float[]> base,
                                               Supplier<float[]> teacher, int round, int partition,
                                               Iterator<PackedSequence> rows) {
        List<PackedSequence> shard = collect(rows);
        Nd4jThreads.apply(setup.engine().threads());
        WorkerModels.Bundle bundle = WorkerModels.acquire(setup, base, teacher);
        try {
            long start = System.nanoTime();
            state.restore(bundle.model(), bundle.optimizer());
            ShardSampler sampler = new ShardSampler(setup.seed(), partition, setup.batchSize(), setup.localSteps());
            double lossSum = 0;
            double tokens = 0;
            long rowCount = 0;
            for (int step = 0; step < setup.localSteps(); step++) {
                List<PackedSequence> batch = sampler.batch(shard, round, step);
                if (bundle.batchTeacher() != null) {
                    bundle.batchTeacher().set(batch);
                }
                Trainer trainer = bundle.trainer();
                if (onPolicy(setup, bundle, round, step, partition)) {
                    batch = OnPolicyBatches.sample(bundle.model(), batch, setup.teacher().eosId(), setup.seed(), round,
                            step, partition);
                    trainer = bundle.onPolicyTrainer();
                }
                Trainer.StepStats stats = trainer.step(List.of(toTokenBatch(batch)));
                lossSum += stats.loss() * stats.maskedTokens();
                tokens += stats.maskedTokens();
                rowCount += batch.size();
            }
            TrainingState after = TrainingState.capture(bundle.model(), bundle.optimizer());
            return List.of(new PartitionResult(partition, after.params(), after.optimizerState(), tokens, lossSum,
                    tokens, rowCount, System.nanoTime() - start)).iterator();
        } finally {
            WorkerModels.release(bundle);
        }
    }

    /** Gradient mode: the gradient of the token-summed loss of one batch at the broadcast parameters. */
    static Iterator<PartitionResult> gradient(WorkerSetup setup, TrainingState state, Supplier<float[]> base,
                                              Supplier<float[]> teacher, int round, int partition,
                                              Iterator<PackedSequence> rows) {
        List<PackedSequence> shard = collect(rows);
        Nd4jThreads.apply(setup.engine().threads());
        WorkerModels.Bundle bundle = WorkerModels.acquire(setup, base, teacher);
        try {
            long start = System.nanoTime();
            TrainingState.copyInto(state.params(), bundle.model().trainableParameters().params());
            ShardSampler sampler = new ShardSampler(setup.seed(), partition, setup.batchSize(), 1);
            List<PackedSequence> batch = sampler.batch(shard, round, 0);
            if (bundle.batchTeacher() != null) {
                bundle.batchTeacher().set(batch);
            }
            Trainer trainer = bundle.trainer();
            if (onPolicy(setup, bundle, round, 0, partition)) {
                batch = OnPolicyBatches.sample(bundle.model(), batch, setup.teacher().eosId(), setup.seed(), round, 0,
                        partition);
                trainer = bundle.onPolicyTrainer();
            }
            double[] lossAndTokens = trainer.accumulateSum(List.of(toTokenBatch(batch)));
            float[] gradient = TrainingState.toFloats(bundle.model().trainableParameters().grads());
            return List.of(new PartitionResult(partition, gradient, new float[0][], 1.0, lossAndTokens[0],
                    lossAndTokens[1], batch.size(), System.nanoTime() - start)).iterator();
        } finally {
            WorkerModels.release(bundle);
        }
    }

    private static boolean onPolicy(WorkerSetup setup, WorkerModels.Bundle bundle, int round, int step, int partition) {
        return bundle.onPolicyTrainer() != null && OnPolicyBatches.onPolicy(setup.seed(), round, step, partition,
                setup.teacher().onPolicyFraction());
    }

    static TokenBatch toTokenBatch(List<PackedSequence> rows) {
        Batches.Flat flat = Batches.flatten(rows);
        return new TokenBatch(flat.tokens(), flat.targets(), flat.mask(), flat.batch(), flat.seqLen());
    }

    private static List<PackedSequence> collect(Iterator<PackedSequence> rows) {
        List<PackedSequence> shard = new ArrayList<>();
        rows.forEachRemaining(shard::add);
        return shard;
    }
}
