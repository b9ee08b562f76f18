package io.whetstone.jobs.prm;

import io.whetstone.jobs.engine.RowAdapter;
import io.whetstone.jobs.engine.WorkerModels;
import io.whetstone.jobs.engine.WorkerSetup;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.preference.StepRewardObjective;
import java.util.Arrays;
import java.util.List;

/**
 * Step rows as one batch: padded to the longest (pad id 0, no targets: the step loss reads the score token's
 * logit, not next-token log-probs), and their step ends and labels handed to the step objective.
 */
public final class StepRows implements RowAdapter<StepRow> {

    private static final long serialVersionUID = 1L;

    public static final StepRows INSTANCE = new StepRows();

    private StepRows() {
    }

    /** The padded batch of {@code rows} and its labelled steps. */
    static TokenBatch batch(List<StepRow> rows) {
        int seqLen = rows.stream().mapToInt(row -> row.ids().length).max().orElse(1);
        int[] tokens = new int[rows.size() * seqLen];
        int[] targets = new int[rows.size() * seqLen];
        Arrays.fill(targets, -1);
        for (int b = 0; b < rows.size(); b++) {
            System.arraycopy(rows.get(b).ids(), 0, tokens, b * seqLen, rows.get(b).ids().length);
        }
        return new TokenBatch(tokens, targets, new float[tokens.length], rows.size(), seqLen);
    }

    /** The labelled steps of {@code rows}, in batch order. */
    static StepRewardObjective.StepLabels labels(List<StepRow> rows) {
        int n = rows.stream().mapToInt(row -> row.ends().length).sum();
        int[] rowOf = new int[n];
        int[] positions = new int[n];
        double[] labels = new double[n];
        int i = 0;
        for (int b = 0; b < rows.size(); b++) {
            for (int k = 0; k < rows.get(b).ends().length; k++, i++) {
                rowOf[i] = b;
                positions[i] = rows.get(b).ends()[k];
                labels[i] = rows.get(b).labels()[k];
            }
        }
        return new StepRewardObjective.StepLabels(rowOf, positions, labels);
    }

    @Override
    public Step step(WorkerSetup setup, WorkerModels.Bundle bundle, List<StepRow> rows, int round, int step,
                     int partition) {
        if (bundle.batchReference() == null) {
            throw new IllegalStateException("step rows reached a worker set up without a process reward loss");
        }
        StepRewardObjective.StepLabels labels = labels(rows);
        bundle.batchReference().setSteps(labels);
        return new Step(bundle.trainer(), batch(rows), labels.rows().length);
    }

    private Object readResolve() {
        return INSTANCE;
    }
}
