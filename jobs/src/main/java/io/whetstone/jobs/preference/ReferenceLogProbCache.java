package io.whetstone.jobs.preference;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.spark.PreferencePreparer;
import io.whetstone.jobs.engine.CachedAnnotation;
import io.whetstone.jobs.engine.PackedRows;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.preference.SequenceLogProbs;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The frozen reference model's summed log-probs of every completion of a tokenized preference corpus,
 * computed once on the executors and cached as Parquet beside the corpus cache, keyed by the corpus and the
 * reference's weights and shape: a nightly DPO run on the same corpus and reference reads them instead of
 * running the reference again (TRL's {@code precompute_ref_log_probs}, kept across runs). Units keep their
 * shards and order.
 */
public final class ReferenceLogProbCache {

    private static final int VERSION = 1;
    private static final int MICRO_BATCH = 8;

    private ReferenceLogProbCache() {
    }

    /** The annotated units and whether they came from the cache. */
    public record Annotated(JavaRDD<PreferenceRow> units, String path, boolean fromCache) {
    }

    /**
     * The units of {@code shards} ({@code partitions} shards, one per partition) with the reference's log-probs
     * attached, computed or read from the cache next to {@code corpusCache}.
     */
    public static Annotated annotate(SparkSession spark, JavaRDD<PreferenceRow> shards, int partitions,
                                     String corpusCache, CheckpointStore.ModelAndTokenizer reference,
                                     EngineOptions engine) {
        String key = CachedAnnotation.key("v" + VERSION, corpusCache, CheckpointStore.sha256(reference.params()),
                reference.config());
        Path dir = new Path(new Path(corpusCache).getParent(), "reference-" + key.substring(0, 24));
        CachedAnnotation.Result<PreferenceRow> result = CachedAnnotation.annotate(spark, shards, partitions, dir,
                "reference log-probs", reference, engine, MICRO_BATCH, schema(), (model, partition, first, units) -> {
                    List<PreferenceRow> scored = score(model, units);
                    List<Row> out = new ArrayList<>(units.size());
                    for (int i = 0; i < units.size(); i++) {
                        out.add(toRow(partition, first + i, scored.get(i)));
                    }
                    return out;
                }, row -> PreferencePreparer.row(row).withReference(row.getDouble(8), row.getDouble(9)));
        return new Annotated(result.rows(), result.path(), result.fromCache());
    }

    /** {@code units} with {@code model}'s summed log-probs of their rows' trained tokens attached. */
    static List<PreferenceRow> score(Transformer model, List<PreferenceRow> units) {
        List<PackedSequence> rows = new ArrayList<>();
        for (PreferenceRow unit : units) {
            rows.add(unit.chosen());
            if (unit.paired()) {
                rows.add(unit.rejected());
            }
        }
        TokenBatch batch = PackedRows.toTokenBatch(rows);
        double[] sums = SequenceLogProbs.of(model.forward(batch.tokens(), batch.targets(), batch.batch(),
                batch.seqLen()).logProbs(), batch).sums();
        List<PreferenceRow> out = new ArrayList<>(units.size());
        int row = 0;
        for (PreferenceRow unit : units) {
            double chosen = sums[row++];
            double rejected = unit.paired() ? sums[row++] : Double.NaN;
            out.add(unit.withReference(chosen, rejected));
        }
        return out;
    }

    private static Row toRow(int partition, int index, PreferenceRow unit) {
        PackedSequence rejected = unit.rejected();
        return RowFactory.create(partition, index, unit.chosen().ids(), unit.chosen().targetMask(),
                rejected == null ? null : rejected.ids(), rejected == null ? null : rejected.targetMask(),
                unit.desirable(), unit.margin(), unit.refChosen(), unit.refRejected());
    }

    private static StructType schema() {
        return PreferencePreparer.schema()
                .add("ref_chosen", DataTypes.DoubleType, false)
                .add("ref_rejected", DataTypes.DoubleType, false);
    }
}
