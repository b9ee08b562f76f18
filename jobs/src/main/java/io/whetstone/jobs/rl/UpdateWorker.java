package io.whetstone.jobs.rl;

import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.datasets.pack.Batches;
import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.jobs.engine.Nd4jThreads;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.optim.Optimizer;
import io.whetstone.models.rl.ClippedPolicyLoss;
import io.whetstone.models.rl.PolicyBatch;
import io.whetstone.models.rl.PolicyUpdate;
import io.whetstone.models.rl.ValueLoss;
import io.whetstone.models.train.TrainingState;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;

/** The update work of one partition, inside a Spark task. */
final class UpdateWorker {

    private UpdateWorker() {
    }

    /**
     * The normalisers of one minibatch over all partitions: counted completion tokens, sequences and
     * replayed tokens.
     */
    record Norms(double tokens, double sequences, double replayTokens) implements Serializable {
        private static final long serialVersionUID = 1L;

        static Norms of(List<UpdateRow> rows) {
            double tokens = 0;
            double sequences = 0;
            double replay = 0;
            for (UpdateRow row : rows) {
                if (row.isReplay()) {
                    replay += row.countedTokens();
                } else {
                    tokens += row.countedTokens();
                    sequences++;
                }
            }
            return new Norms(tokens, sequences, replay);
        }
    }

    /**
     * A partition's contribution: a gradient (weight 1) or, in averaging mode, its parameters and
     * optimiser moments after local steps (weight: its tokens); null vector when it had no rows.
     */
    record Result(float[] vector, float[][] moments, double weight, PolicyUpdate.Stats stats, double replayLoss,
                  long steps, long computeNanos) implements Serializable {
        private static final long serialVersionUID = 1L;

        static Result empty() {
            return new Result(null, new float[0][], 0, PolicyUpdate.Stats.ZERO, 0, 0, 0);
        }
    }

    /** Gradient mode: the summed gradient of minibatch {@code minibatch} of {@code epoch} at {@code params}. */
    static Iterator<Result> gradient(RlWorkerSetup setup, float[] params, Iterator<UpdateRow> partition, int epoch,
                                     int minibatch, Norms norms, double replayCoef) {
        List<UpdateRow> rows = new ArrayList<>();
        partition.forEachRemaining(row -> {
            if (row.minibatches()[epoch] == minibatch) {
                rows.add(row);
            }
        });
        if (rows.isEmpty()) {
            return List.of(Result.empty()).iterator();
        }
        Nd4jThreads.apply(setup.engine().threads());
        RlWorkerPool.Bundle bundle = RlWorkerPool.acquire(setup.poolKey());
        try {
            long start = System.nanoTime();
            PolicyParameters.load(params, bundle.policy, bundle.head);
            PolicyParameters.zeroGrads(bundle.policy, bundle.head);
            Accumulated sums = accumulate(setup, bundle, rows, norms, replayCoef);
            float[] gradient = PolicyParameters.gradients(bundle.policy, bundle.head);
            return List.of(new Result(gradient, new float[0][], 1.0, sums.stats, sums.replayLoss, 1,
                    System.nanoTime() - start)).iterator();
        } finally {
            RlWorkerPool.release(bundle);
        }
    }

    /**
     * Averaging mode: from the broadcast state, every epoch's minibatches of this partition's rows, each
     * an optimiser step normalised over the partition's share; returns the new state weighted by tokens.
     */
    static Iterator<Result> local(RlWorkerSetup setup, TrainingState state, Iterator<UpdateRow> partition,
                                  int epochs, int minibatches, LrSchedule schedule, double lrScale,
                                  double replayCoef) {
        List<UpdateRow> rows = new ArrayList<>();
        partition.forEachRemaining(rows::add);
        if (rows.isEmpty()) {
            return List.of(Result.empty()).iterator();
        }
        Nd4jThreads.apply(setup.engine().threads());
        RlWorkerPool.Bundle bundle = RlWorkerPool.acquire(setup.poolKey());
        try {
            long start = System.nanoTime();
            ParameterStore flat = new ParameterStore(PolicyParameters.layout(setup.model(), setup.valueHead()),
                    DataType.FLOAT);
            Optimizer optimizer = OptimizerKind.parse(setup.optimizer()).create(flat, bundle.policy.kernels(),
                    setup.adamw());
            state.restore(flat.params(), optimizer);
            PolicyUpdate.Stats stats = PolicyUpdate.Stats.ZERO;
            double replayLoss = 0;
            long steps = 0;
            for (int epoch = 0; epoch < epochs; epoch++) {
                for (int m = 0; m < minibatches; m++) {
                    List<UpdateRow> batch = new ArrayList<>();
                    for (UpdateRow row : rows) {
                        if (row.minibatches()[epoch] == m) {
                            batch.add(row);
                        }
                    }
                    if (batch.isEmpty()) {
                        continue;
                    }
                    PolicyParameters.load(TrainingState.toFloats(flat.params()), bundle.policy, bundle.head);
                    PolicyParameters.zeroGrads(bundle.policy, bundle.head);
                    Accumulated sums = accumulate(setup, bundle, batch, Norms.of(batch), replayCoef);
                    TrainingState.copyInto(PolicyParameters.gradients(bundle.policy, bundle.head), flat.grads());
                    optimizer.apply(schedule.rate(optimizer.step() + 1) * lrScale);
                    stats = stats.plus(sums.stats);
                    replayLoss += sums.replayLoss;
                    steps++;
                }
            }
            TrainingState after = TrainingState.capture(flat.params(), optimizer);
            double tokens = 0;
            for (UpdateRow row : rows) {
                tokens += row.countedTokens();
            }
            return List.of(new Result(after.params(), after.optimizerState(), tokens, stats, replayLoss, steps,
                    System.nanoTime() - start)).iterator();
        } finally {
            RlWorkerPool.release(bundle);
        }
    }

    private record Accumulated(PolicyUpdate.Stats stats, double replayLoss) {
    }

    /** Accumulates the gradients of {@code rows} (one minibatch's share) in micro-batches. */
    private static Accumulated accumulate(RlWorkerSetup setup, RlWorkerPool.Bundle bundle, List<UpdateRow> rows,
                                          Norms norms, double replayCoef) {
        var algorithm = setup.algorithm();
        bundle.policy.setTemperature(setup.rollout().temperature());
        ClippedPolicyLoss.Normalization normalization = ClippedPolicyLoss.Normalization.parse(
                algorithm.lossNormalization());
        // PPO folds the KL into the reward; GRPO keeps it in the loss
        ClippedPolicyLoss loss = new ClippedPolicyLoss(algorithm.clipLow(), algorithm.clipHigh(),
                algorithm.ppo() ? 0 : setup.klCoef(), normalization);
        PolicyUpdate update = new PolicyUpdate(bundle.policy, loss, bundle.head,
                bundle.head == null ? null : new ValueLoss(algorithm.valueClip()), algorithm.valueCoef());
        double normalizer = normalization == ClippedPolicyLoss.Normalization.TOKEN ? norms.tokens() : norms.sequences();
        List<UpdateRow> policyRows = new ArrayList<>();
        List<PackedSequence> replayRows = new ArrayList<>();
        for (UpdateRow row : rows) {
            if (row.isReplay()) {
                replayRows.add(row.replay());
            } else {
                policyRows.add(row);
            }
        }
        int micro = setup.rollout().microBatch();
        PolicyUpdate.Stats stats = PolicyUpdate.Stats.ZERO;
        for (int from = 0; from < policyRows.size(); from += micro) {
            List<UpdateRow> chunk = policyRows.subList(from, Math.min(policyRows.size(), from + micro));
            Built built = policyBatch(chunk);
            stats = stats.plus(update.accumulate(built.batch, normalizer, built.targets, norms.tokens()));
        }
        double replayLoss = 0;
        for (int from = 0; from < replayRows.size(); from += micro) {
            Batches.Flat flat = Batches.flatten(replayRows.subList(from, Math.min(replayRows.size(), from + micro)));
            TokenBatch batch = new TokenBatch(flat.tokens(), flat.targets(), flat.mask(), flat.batch(), flat.seqLen());
            replayLoss += update.accumulateReplay(batch, replayCoef, norms.replayTokens());
        }
        return new Accumulated(stats, replayLoss);
    }

    private record Built(PolicyBatch batch, PolicyUpdate.ValueTargets targets) {
    }

    /** A padded policy batch of rollout rows: the mask selects completion targets. */
    static Built policyBatch(List<UpdateRow> rows) {
        List<int[]> prompts = new ArrayList<>();
        List<int[]> completions = new ArrayList<>();
        for (UpdateRow row : rows) {
            prompts.add(row.promptIds());
            completions.add(row.completionIds());
        }
        RolloutWorker.Rows padded = RolloutWorker.Rows.of(prompts, completions);
        int n = padded.batch * padded.seqLen;
        float[] mask = new float[n];
        float[] old = new float[n];
        float[] ref = new float[n];
        float[] advantages = new float[n];
        boolean values = !rows.get(0).isReplay() && rows.get(0).oldValues().length > 0;
        double[] oldValues = values ? new double[n] : null;
        double[] returns = values ? new double[n] : null;
        boolean withRef = rows.get(0).refLogProbs().length > 0;
        for (int b = 0; b < rows.size(); b++) {
            UpdateRow row = rows.get(b);
            int first = padded.firstTarget[b];
            for (int k = 0; k < row.completionIds().length; k++) {
                int i = b * padded.seqLen + first + k;
                mask[i] = 1;
                old[i] = row.oldLogProbs()[k];
                advantages[i] = row.advantages()[k];
                if (withRef) {
                    ref[i] = row.refLogProbs()[k];
                }
                if (values) {
                    oldValues[i] = row.oldValues()[k];
                    returns[i] = row.returns()[k];
                }
            }
        }
        TokenBatch tokens = new TokenBatch(padded.tokens, padded.targets, mask, padded.batch, padded.seqLen);
        return new Built(new PolicyBatch(tokens, old, withRef ? ref : null, advantages),
                values ? new PolicyUpdate.ValueTargets(oldValues, returns) : null);
    }
}
