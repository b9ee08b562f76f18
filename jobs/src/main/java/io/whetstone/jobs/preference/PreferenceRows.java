package io.whetstone.jobs.preference;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.jobs.engine.PackedRows;
import io.whetstone.jobs.engine.RowAdapter;
import io.whetstone.jobs.engine.WorkerModels;
import io.whetstone.jobs.engine.WorkerSetup;
import io.whetstone.models.engine.TokenBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Preference units as a step's batch: a pair's chosen and rejected rows side by side (rows 2i and 2i + 1, as
 * the pairwise objective reads them), or one row per labelled completion; their cached reference log-probs
 * and labels go to the objective with them.
 */
public final class PreferenceRows implements RowAdapter<PreferenceRow> {

    private static final long serialVersionUID = 1L;

    public static final PreferenceRows INSTANCE = new PreferenceRows();

    private PreferenceRows() {
    }

    @Override
    public Step step(WorkerSetup setup, WorkerModels.Bundle bundle, List<PreferenceRow> units, int round, int step,
                     int partition) {
        if (bundle.batchReference() == null) {
            throw new IllegalStateException("preference units reached a worker set up without a preference loss");
        }
        boolean reference = setup.preference().usesReference();
        List<PackedSequence> rows = new ArrayList<>(2 * units.size());
        double[] logProbs = new double[2 * units.size()];
        boolean[] labels = new boolean[2 * units.size()];
        double[] margins = new double[units.size()];
        int pair = 0;
        for (PreferenceRow unit : units) {
            if (reference && !unit.hasReference()) {
                throw new IllegalStateException("a preference unit without the reference's log-probs reached a loss "
                        + "that needs them");
            }
            boolean paired = setup.preference().paired();
            if (paired != unit.paired()) { // the config checks data.format against the loss before any work
                throw new IllegalStateException(paired ? "a pairwise loss reached unpaired units"
                        : "KTO reached paired units");
            }
            logProbs[rows.size()] = unit.refChosen();
            labels[rows.size()] = unit.desirable();
            rows.add(unit.chosen());
            if (paired) {
                margins[pair++] = unit.margin();
                logProbs[rows.size()] = unit.refRejected();
                labels[rows.size()] = false;
                rows.add(unit.rejected());
            }
        }
        bundle.batchReference().set(Arrays.copyOf(logProbs, rows.size()),
                Arrays.copyOf(labels, rows.size()), Arrays.copyOf(margins, pair));
        TokenBatch batch = PackedRows.toTokenBatch(rows);
        return new Step(bundle.trainer(), batch, batch.maskedTokens());
    }

    private Object readResolve() {
        return INSTANCE;
    }
}
