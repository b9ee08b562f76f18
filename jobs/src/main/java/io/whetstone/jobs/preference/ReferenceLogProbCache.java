package io.whetstone.jobs.preference;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.datasets.spark.PreferencePreparer;
import io.whetstone.jobs.engine.Nd4jThreads;
import io.whetstone.jobs.engine.PackedRows;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.preference.SequenceLogProbs;
import io.whetstone.models.train.TrainingState;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frozen reference model's summed log-probs of every completion of a tokenized preference corpus,
 * computed once on the executors and cached as Parquet beside the corpus cache, keyed by the corpus and the
 * reference's weights and shape: a nightly DPO run on the same corpus and reference reads them instead of
 * running the reference again (TRL's {@code precompute_ref_log_probs}, kept across runs). Units keep their
 * shards and order.
 */
public final class ReferenceLogProbCache {

    private static final Logger LOG = LoggerFactory.getLogger(ReferenceLogProbCache.class);
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
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        Path dir = new Path(new Path(corpusCache).getParent(), "reference-" + key(corpusCache, reference).substring(0, 24));
        if (files.exists(new Path(dir, "_SUCCESS"))) {
            LOG.info("Reference log-probs read from the cache at {}", dir);
            return new Annotated(load(spark, new Path(dir, "rows").toString(), partitions), dir.toString(), true);
        }
        Broadcast<float[]> weights = context.broadcast(reference.params());
        ModelConfig config = reference.config();
        long start = System.nanoTime();
        try {
            context.setJobDescription("whetstone preference: reference log-probs of the corpus");
            JavaRDD<Row> annotated = shards.mapPartitionsWithIndex((partition, iterator) -> {
                List<PreferenceRow> units = new ArrayList<>();
                iterator.forEachRemaining(units::add);
                List<Row> out = new ArrayList<>(units.size());
                Nd4jThreads.apply(engine.threads());
                try (Transformer model = new Transformer(config, engine)) {
                    TrainingState.copyInto(weights.value(), model.parameters().params());
                    for (int from = 0; from < units.size(); from += MICRO_BATCH) {
                        List<PreferenceRow> chunk = units.subList(from, Math.min(units.size(), from + MICRO_BATCH));
                        List<PreferenceRow> scored = score(model, chunk);
                        for (int i = 0; i < chunk.size(); i++) {
                            out.add(toRow(partition, from + i, scored.get(i)));
                        }
                    }
                }
                return out.iterator();
            }, true);
            Path temporary = new Path(dir.getParent(), "." + dir.getName() + "._tmp-" + UUID.randomUUID());
            spark.createDataFrame(annotated, schema()).write().parquet(new Path(temporary, "rows").toString());
            files.publishDirectory(temporary, dir);
        } finally {
            weights.destroy();
        }
        LOG.info(String.format("Reference log-probs of the corpus computed in %.1fs; cached at %s",
                (System.nanoTime() - start) / 1e9, dir));
        return new Annotated(load(spark, new Path(dir, "rows").toString(), partitions), dir.toString(), false);
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

    private static JavaRDD<PreferenceRow> load(SparkSession spark, String path, int partitions) {
        return CorpusPreparer.loadShards(spark, path, partitions,
                row -> PreferencePreparer.row(row).withReference(row.getDouble(8), row.getDouble(9)));
    }

    private static StructType schema() {
        return PreferencePreparer.schema()
                .add("ref_chosen", DataTypes.DoubleType, false)
                .add("ref_rejected", DataTypes.DoubleType, false);
    }

    private static String key(String corpusCache, CheckpointStore.ModelAndTokenizer reference) {
        String text = "v" + VERSION + "|" + corpusCache + "|" + CheckpointStore.sha256(reference.params()) + "|"
                + reference.config();
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
