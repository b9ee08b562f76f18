package io.whetstone.jobs.engine;

import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.train.Trainer;
import java.io.Serializable;
import java.util.List;

/**
 * What a shard's rows are to the update: how the rows one local step sampled become the step's batch, and
 * which of the bundle's trainers takes it (after handing the objective what the rows carry: a teacher's
 * top-k, a reference model's log-probs, labels). Packed SFT rows, preference units and RL update rows are
 * the kinds; the worker and the driver do not depend on which.
 *
 * @param <R> the row type of the shards
 */
public interface RowAdapter<R> extends Serializable {

    /**
     * One local step's input.
     *
     * @param trainer the trainer whose objective takes the batches
     * @param batches the rows as token batches: micro-batches whose gradients accumulate into one step
     * @param trainedTokens tokens the loss counts (throughput; SFT's normaliser)
     */
    record Step(Trainer trainer, List<TokenBatch> batches, double trainedTokens) {

        public Step {
            batches = List.copyOf(batches);
        }

        /** A step of one batch. */
        public Step(Trainer trainer, TokenBatch batch, double trainedTokens) {
            this(trainer, List.of(batch), trainedTokens);
        }
    }

    /**
     * The rows local step {@code step} (0-based) of {@code round} (1-based) trains on in {@code partition}: by
     * default a seeded sample of the shard ({@link ShardSampler}), a pure function of (seed, partition, round,
     * step). Adapters whose rows the driver assigned to steps (RL minibatches) override it; an empty list means
     * the partition has nothing for this step, and it skips it.
     */
    default List<R> select(WorkerSetup setup, List<R> shard, int round, int step, int partition) {
        return new ShardSampler(setup.seed(), partition, setup.batchSize(), setup.localSteps()).batch(shard, round,
                step);
    }

    /** The step of local step {@code step} of {@code round} on {@code rows} (not empty), selected for {@code partition}. */
    Step step(WorkerSetup setup, WorkerModels.Bundle bundle, List<R> rows, int round, int step, int partition);
}
