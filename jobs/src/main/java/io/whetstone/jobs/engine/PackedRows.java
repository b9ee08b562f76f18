package io.whetstone.jobs.engine;

import io.whetstone.datasets.pack.Batches;
import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.train.Trainer;
import java.util.List;

/**
 * Packed SFT rows: one batch of the sampled rows; with logit distillation the rows' precomputed top-k go to
 * the objective, and with on-policy distillation a seeded share of the steps trains on the student's own
 * continuations of the rows' prompts instead.
 */
public final class PackedRows implements RowAdapter<PackedSequence> {

    private static final long serialVersionUID = 1L;

    public static final PackedRows INSTANCE = new PackedRows();

    private PackedRows() {
    }

    @Override
    public Step step(WorkerSetup setup, WorkerModels.Bundle bundle, List<PackedSequence> rows, int round, int step,
                     int partition) {
        if (bundle.batchTeacher() != null) {
            bundle.batchTeacher().set(rows);
        }
        Trainer trainer = bundle.trainer();
        if (bundle.onPolicyTrainer() != null && OnPolicyBatches.onPolicy(setup.seed(), round, step, partition,
                setup.teacher().onPolicyFraction())) {
            rows = OnPolicyBatches.sample(bundle.model(), rows, setup.teacher().eosId(), setup.seed(), round, step,
                    partition);
            trainer = bundle.onPolicyTrainer();
        }
        TokenBatch batch = toTokenBatch(rows);
        return new Step(trainer, batch, batch.maskedTokens());
    }

    /** Rows of one length as one batch (their loss masks as weights). */
    public static TokenBatch toTokenBatch(List<PackedSequence> rows) {
        Batches.Flat flat = Batches.flatten(rows);
        return new TokenBatch(flat.tokens(), flat.targets(), flat.mask(), flat.batch(), flat.seqLen());
    }

    private Object readResolve() {
        return INSTANCE;
    }
}
