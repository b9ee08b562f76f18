package io.whetstone.jobs.distill;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.jobs.engine.Nd4jThreads;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
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
 * A teacher's top-k next-token log-probabilities at every trained position of a tokenized corpus, computed
 * once on the executors and cached as Parquet beside the corpus cache, keyed by the corpus, the teacher's
 * weights, k and the temperature: a nightly run on the same corpus and teacher reads them instead of
 * running the teacher again. The rows keep their shards and order, so training sees the same rows as
 * without annotations.
 */
public final class TeacherTopKCache {

    private static final Logger LOG = LoggerFactory.getLogger(TeacherTopKCache.class);
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
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        String key = key(corpusCache, teacher, k, temperature);
        Path dir = new Path(new Path(corpusCache).getParent(), "teacher-top" + k + "-" + key.substring(0, 24));
        Path rows = new Path(dir, "rows");
        if (files.exists(new Path(dir, "_SUCCESS"))) {
            LOG.info("Teacher top-{} log-probs read from the cache at {}", k, dir);
            return new Annotated(load(spark, rows.toString(), partitions, k), dir.toString(), true);
        }
        Broadcast<float[]> weights = context.broadcast(teacher.params());
        ModelConfig config = teacher.config();
        long start = System.nanoTime();
        try {
            context.setJobDescription("whetstone distill: teacher top-" + k + " log-probs of the corpus");
            JavaRDD<Row> annotated = shards.mapPartitionsWithIndex((partition, iterator) -> {
                List<PackedSequence> list = new ArrayList<>();
                iterator.forEachRemaining(list::add);
                List<Row> out = new ArrayList<>(list.size());
                Nd4jThreads.apply(engine.threads());
                try (Transformer model = new Transformer(config, engine)) {
                    TrainingState.copyInto(weights.value(), model.parameters().params());
                    for (int from = 0; from < list.size(); from += MICRO_BATCH) {
                        List<PackedSequence> batch = list.subList(from, Math.min(list.size(), from + MICRO_BATCH));
                        List<PackedSequence.TeacherTopK> topK = topK(model, batch, k, temperature);
                        for (int i = 0; i < batch.size(); i++) {
                            PackedSequence row = batch.get(i);
                            out.add(RowFactory.create(partition, from + i, row.ids(), row.targetMask(), row.examples(),
                                    topK.get(i).ids(), topK.get(i).logProbs()));
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
        LOG.info(String.format("Teacher top-%d log-probs of the corpus computed in %.1fs; cached at %s", k,
                (System.nanoTime() - start) / 1e9, dir));
        return new Annotated(load(spark, rows.toString(), partitions, k), dir.toString(), false);
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

    private static JavaRDD<PackedSequence> load(SparkSession spark, String path, int partitions, int k) {
        return CorpusPreparer.loadShards(spark, path, partitions, row -> {
            List<Integer> topIds = row.getList(5);
            List<Float> topLogProbs = row.getList(6);
            int[] top = new int[topIds.size()];
            float[] logProbs = new float[topIds.size()];
            for (int i = 0; i < top.length; i++) {
                top[i] = topIds.get(i);
                logProbs[i] = topLogProbs.get(i);
            }
            return CorpusPreparer.packed(row).withTeacher(new PackedSequence.TeacherTopK(k, top, logProbs));
        });
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

    private static String key(String corpusCache, CheckpointStore.ModelAndTokenizer teacher, int k, double temperature) {
        String text = "v" + VERSION + "|" + corpusCache + "|" + CheckpointStore.sha256(teacher.params()) + "|"
                + teacher.config() + "|" + k + "|" + temperature;
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
