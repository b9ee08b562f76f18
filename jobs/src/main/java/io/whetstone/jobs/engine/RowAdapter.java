package io.whetstone.jobs.engine;

import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.train.Trainer;
import java.io.Serializable;
import java.util.List;

/**
 * What a shard's rows are to the update: how the rows one local step sampled become the step's batch, and
 * which of the bundle's trainers takes it (after handing the objective what the rows carry: a teacher's
 * top-k, a reference model's log-probs, labels). Packed SFT rows and preference units are the two kinds;
 * the sampler, the worker and the driver do not depend on which.
 *
 * @param <R> the row type of the shards
 */
public interface RowAdapter<R> extends Serializable {

    /**
     * One local step's input.
     *
     * @param trainer the trainer whose objective takes the batch
     * @param batch the rows as one token batch
     * @param trainedTokens tokens the loss counts (throughput; SFT's normaliser)
     */
    record Step(Trainer trainer, TokenBatch batch, double trainedTokens) {
    }

    /** The step of local step {@code step} of {@code round} on {@code rows}, sampled for {@code partition}. */
    Step step(WorkerSetup setup, WorkerModels.Bundle bundle, List<R> rows, int round, int step, int partition);
}
