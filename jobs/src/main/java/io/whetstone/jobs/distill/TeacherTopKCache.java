package io.whetstone.jobs.distill;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.jobs.engine.CachedAnnotation;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.Transformer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A teacher's top-k next-token log-probabilities at every trained position of a tokenized corpus, computed
 * once on the executors and cached as Parquet beside the corpus cache, keyed by the corpus, the teacher's
 * weights, k and the temperature: a nightly run on the same corpus and teacher reads them instead of
 * running the teacher again. The rows keep their shards and order, so training sees the same rows as
 * without annotations.
 */
public final class TeacherTopKCache {

    private static final int VERSION = 1;
    private static final int MICRO_BATCH = 8;

    private TeacherTopKCache() {
    }

    /** The annotated rows and whether they came from the cache. */
    public record Annotated(JavaRDD<PackedSequence> rows, String path, boolean fromCache) {
    }

    /**
     * The rows of {@code shards} (one shard per partition, {@code partitions} of them) with the teacher's top-k
     * attached, computed or read from the cache next to {@code corpusCache}.
     */
    public static Annotated annotate(SparkSession spark, JavaRDD<PackedSequence> shards, int partitions,
                                     String corpusCache, CheckpointStore.ModelAndTokenizer teacher, int k,
                                     double temperature, EngineOptions engine) {
        String key = CachedAnnotation.key("v" + VERSION, corpusCache, CheckpointStore.sha256(teacher.params()),
                teacher.config(), k, temperature);
        Path dir = new Path(new Path(corpusCache).getParent(), "teacher-top" + k + "-" + key.substring(0, 24));
        CachedAnnotation.Result<PackedSequence> result = CachedAnnotation.annotate(spark, shards, partitions, dir,
                "teacher top-" + k + " log-probs", teacher, engine, MICRO_BATCH, schema(),
                (model, partition, first, batch) -> {
                    List<PackedSequence.TeacherTopK> topK = topK(model, batch, k, temperature);
                    List<Row> out = new ArrayList<>(batch.size());
                    for (int i = 0; i < batch.size(); i++) {
                        PackedSequence row = batch.get(i);
                        out.add(RowFactory.create(partition, first + i, row.ids(), row.targetMask(), row.examples(),
                                topK.get(i).ids(), topK.get(i).logProbs()));
                    }
                    return out;
                }, row -> packedWithTopK(row, k));
        return new Annotated(result.rows(), result.path(), result.fromCache());
    }

    /** Top-k of log softmax(teacher logits / temperature) at each trained position of each row. */
    static List<PackedSequence.TeacherTopK> topK(Transformer model, List<PackedSequence> rows, int k,
                                                 double temperature) {
        List<PackedSequence.TeacherTopK> out = new ArrayList<>(rows.size());
        for (PackedSequence row : rows) {
            int seqLen = row.seqLen();
            int[] tokens = java.util.Arrays.copyOf(row.ids(), seqLen);
            int[] targets = new int[seqLen];
            java.util.Arrays.fill(targets, -1);
            ForwardPass pass = model.forward(tokens, targets, 1, seqLen);
            int trained = row.trainableTokens();
            int[] ids = new int[trained * k];
            float[] logProbs = new float[trained * k];
            int j = 0;
            for (int t = 0; t < seqLen; t++) {
                if (!row.targetMask()[t + 1]) {
                    continue;
                }
                double[] logits = pass.logits().getRow(t).toDoubleVector();
                select(logits, temperature, k, ids, logProbs, j * k);
                j++;
            }
            out.add(new PackedSequence.TeacherTopK(k, ids, logProbs));
        }
        return out;
    }

    /** Writes the k largest of log softmax(logits / temperature), largest first (ties: lower id first). */
    public static void select(double[] logits, double temperature, int k, int[] ids, float[] logProbs, int offset) {
        int vocab = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (double z : logits) {
            max = Math.max(max, z / temperature);
        }
        double sum = 0;
        for (double z : logits) {
            sum += Math.exp(z / temperature - max);
        }
        double lse = max + Math.log(sum);
        boolean[] taken = new boolean[vocab];
        for (int c = 0; c < k; c++) {
            int best = -1;
            for (int v = 0; v < vocab; v++) {
                if (!taken[v] && (best < 0 || logits[v] > logits[best])) {
                    best = v;
                }
            }
            taken[best] = true;
            ids[offset + c] = best;
            logProbs[offset + c] = (float) (logits[best] / temperature - lse);
        }
    }

    /** A cached row: the packed row in columns 2-4 and its top-k in 5-6. */
    private static PackedSequence packedWithTopK(Row row, int k) {
        List<Integer> topIds = row.getList(5);
        List<Float> topLogProbs = row.getList(6);
        int[] top = new int[topIds.size()];
        float[] logProbs = new float[topIds.size()];
        for (int i = 0; i < top.length; i++) {
            top[i] = topIds.get(i);
            logProbs[i] = topLogProbs.get(i);
        }
        return CorpusPreparer.packed(row).withTeacher(new PackedSequence.TeacherTopK(k, top, logProbs));
    }

    private static StructType schema() {
        return new StructType()
                .add("partition", DataTypes.IntegerType, false)
                .add("index", DataTypes.IntegerType, false)
                .add("ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                .add("mask", DataTypes.createArrayType(DataTypes.BooleanType, false), false)
                .add("examples", DataTypes.IntegerType, false)
                .add("teacher_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                .add("teacher_logprobs", DataTypes.createArrayType(DataTypes.FloatType, false), false);
    }
}
