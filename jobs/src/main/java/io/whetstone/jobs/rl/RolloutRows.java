package io.whetstone.jobs.rl;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.jobs.engine.PackedRows;
import io.whetstone.jobs.engine.RowAdapter;
import io.whetstone.jobs.engine.WorkerModels;
import io.whetstone.jobs.engine.WorkerSetup;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.rl.ClippedPolicyLoss;
import io.whetstone.models.rl.PolicyBatch;
import io.whetstone.models.rl.PolicyObjective;
import io.whetstone.models.rl.ValueTargets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * RL update rows as the shared update layer's input. The driver fixed every row's minibatch per epoch
 * ({@link UpdateStage#assignMinibatches}); the iteration's update steps are its non-empty (epoch, minibatch)
 * pairs in order. In gradient mode round r is step r - 1 and each partition takes its rows of that minibatch,
 * normalised by the whole minibatch's normalisers (computed on the driver); in averaging mode local step s is
 * step s and each partition normalises by its own share. A step's rows go to the policy objective in
 * micro-batches of rollouts and of replayed SFT rows.
 */
final class RolloutRows implements RowAdapter<UpdateRow> {

    private static final long serialVersionUID = 1L;

    private final int[][] steps; // [step] -> {epoch, minibatch}
    private final PolicyObjective.Normalizers[] global; // [step], gradient mode; null in averaging mode
    private final ClippedPolicyLoss.Normalization normalization;
    private final int microBatch;

    private RolloutRows(int[][] steps, PolicyObjective.Normalizers[] global,
                        ClippedPolicyLoss.Normalization normalization, int microBatch) {
        this.steps = steps;
        this.global = global;
        this.normalization = normalization;
        this.microBatch = microBatch;
    }

    /**
     * The steps of {@code rows} (assigned over {@code epochs} x {@code minibatches}); {@code averaging}: each
     * partition normalises locally, otherwise by the driver's minibatch totals.
     */
    static RolloutRows of(List<UpdateRow> rows, int epochs, int minibatches, boolean averaging,
                          ClippedPolicyLoss.Normalization normalization, int microBatch) {
        List<int[]> steps = new ArrayList<>();
        List<PolicyObjective.Normalizers> norms = new ArrayList<>();
        for (int epoch = 0; epoch < epochs; epoch++) {
            for (int m = 0; m < minibatches; m++) {
                List<UpdateRow> members = new ArrayList<>();
                for (UpdateRow row : rows) {
                    if (row.minibatches()[epoch] == m) {
                        members.add(row);
                    }
                }
                if (!members.isEmpty()) {
                    steps.add(new int[] {epoch, m});
                    norms.add(normalizers(members, normalization));
                }
            }
        }
        return new RolloutRows(steps.toArray(new int[0][]),
                averaging ? null : norms.toArray(new PolicyObjective.Normalizers[0]), normalization, microBatch);
    }

    /** The update's optimiser steps: rounds in gradient mode, local steps of one round in averaging mode. */
    int steps() {
        return steps.length;
    }

    /** The normalisers of a minibatch made of {@code rows}. */
    static PolicyObjective.Normalizers normalizers(List<UpdateRow> rows, ClippedPolicyLoss.Normalization normalization) {
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
        return new PolicyObjective.Normalizers(normalization == ClippedPolicyLoss.Normalization.TOKEN ? tokens
                : sequences, tokens, replay, tokens + replay);
    }

    private int index(int round, int step) {
        return global == null ? step : round - 1;
    }

    @Override
    public List<UpdateRow> select(WorkerSetup setup, List<UpdateRow> shard, int round, int step, int partition) {
        int[] at = steps[index(round, step)];
        List<UpdateRow> rows = new ArrayList<>();
        for (UpdateRow row : shard) {
            if (row.minibatches()[at[0]] == at[1]) {
                rows.add(row);
            }
        }
        return rows;
    }

    @Override
    public Step step(WorkerSetup setup, WorkerModels.Bundle bundle, List<UpdateRow> rows, int round, int step,
                     int partition) {
        List<UpdateRow> policyRows = new ArrayList<>();
        List<PackedSequence> replayRows = new ArrayList<>();
        for (UpdateRow row : rows) {
            if (row.isReplay()) {
                replayRows.add(row.replay());
            } else {
                policyRows.add(row);
            }
        }
        Map<TokenBatch, PolicyObjective.Targets> batches = new IdentityHashMap<>();
        List<TokenBatch> order = new ArrayList<>();
        for (int from = 0; from < policyRows.size(); from += microBatch) {
            List<UpdateRow> chunk = policyRows.subList(from, Math.min(policyRows.size(), from + microBatch));
            PolicyObjective.Targets targets = rolloutTargets(chunk);
            order.add(targets.policy().tokens());
            batches.put(targets.policy().tokens(), targets);
        }
        for (int from = 0; from < replayRows.size(); from += microBatch) {
            TokenBatch batch = PackedRows.toTokenBatch(replayRows.subList(from, Math.min(replayRows.size(),
                    from + microBatch)));
            order.add(batch);
            batches.put(batch, PolicyObjective.Targets.replayed());
        }
        PolicyObjective.Normalizers norms = global == null ? normalizers(rows, normalization)
                : global[index(round, step)];
        bundle.batchRollouts().set(batches, norms);
        double counted = 0;
        for (UpdateRow row : rows) {
            counted += row.countedTokens();
        }
        return new Step(bundle.trainer(), order, counted);
    }

    /** A padded batch of rollout rows with what they carry: the mask selects completion targets. */
    static PolicyObjective.Targets rolloutTargets(List<UpdateRow> rows) {
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
        boolean values = rows.get(0).oldValues().length > 0;
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
        return PolicyObjective.Targets.rollouts(new PolicyBatch(tokens, old, withRef ? ref : null, advantages),
                values ? new ValueTargets(oldValues, returns) : null);
    }
}
