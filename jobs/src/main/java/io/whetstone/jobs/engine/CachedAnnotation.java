package io.whetstone.jobs.engine;

import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.train.TrainingState;
import java.io.Serializable;
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
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a frozen model says about every row of a sharded corpus (a teacher's top-k, a reference's log-probs),
 * computed once on the executors and cached as Parquet in a directory keyed by the corpus, the model's
 * weights and the settings: a nightly rerun reads the table instead of running the model again. The rows keep
 * their shards and order ({@link CorpusPreparer#loadShards}); the directory is published atomically.
 */
public final class CachedAnnotation {

    private static final Logger LOG = LoggerFactory.getLogger(CachedAnnotation.class);

    private CachedAnnotation() {
    }

    /** One micro-batch of a partition's rows as output rows (columns 0 and 1: partition and index in it). */
    @FunctionalInterface
    public interface Annotator<R> extends Serializable {
        List<Row> annotate(Transformer model, int partition, int firstIndex, List<R> rows);
    }

    /** The annotated rows, where they are cached, and whether they were read from the cache. */
    public record Result<T>(JavaRDD<T> rows, String path, boolean fromCache) {
    }

    /**
     * The rows of {@code shards} ({@code partitions} shards) annotated by {@code model} in micro-batches of
     * {@code microBatch}, cached at {@code dir}; {@code loader} reads a cached row back.
     */
    public static <R, T> Result<T> annotate(SparkSession spark, JavaRDD<R> shards, int partitions, Path dir,
                                            String what, CheckpointStore.ModelAndTokenizer model, EngineOptions engine,
                                            int microBatch, StructType schema, Annotator<R> annotator,
                                            Function<Row, T> loader) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        Path rows = new Path(dir, "rows");
        if (files.exists(new Path(dir, "_SUCCESS"))) {
            LOG.info("{} read from the cache at {}", what, dir);
            return new Result<>(CorpusPreparer.loadShards(spark, rows.toString(), partitions, loader), dir.toString(),
                    true);
        }
        Broadcast<float[]> weights = context.broadcast(model.params());
        ModelConfig config = model.config();
        long start = System.nanoTime();
        try {
            context.setJobDescription("whetstone: " + what + " of the corpus");
            JavaRDD<Row> annotated = shards.mapPartitionsWithIndex((partition, iterator) -> {
                List<R> list = new ArrayList<>();
                iterator.forEachRemaining(list::add);
                List<Row> out = new ArrayList<>(list.size());
                Nd4jThreads.apply(engine.threads());
                try (Transformer transformer = Transformer.frozen(config, engine)) { // forward only
                    transformer.parameters().load(weights.value());
                    for (int from = 0; from < list.size(); from += microBatch) {
                        out.addAll(annotator.annotate(transformer, partition, from,
                                list.subList(from, Math.min(list.size(), from + microBatch))));
                    }
                }
                return out.iterator();
            }, true);
            Path temporary = new Path(dir.getParent(), "." + dir.getName() + "._tmp-" + UUID.randomUUID());
            spark.createDataFrame(annotated, schema).write().parquet(new Path(temporary, "rows").toString());
            files.publishDirectory(temporary, dir);
        } finally {
            weights.destroy();
        }
        LOG.info(String.format("%s of the corpus computed in %.1fs; cached at %s", what,
                (System.nanoTime() - start) / 1e9, dir));
        return new Result<>(CorpusPreparer.loadShards(spark, rows.toString(), partitions, loader), dir.toString(),
                false);
    }

    /** The cache key of {@code parts}: the SHA-256 of their text joined by {@code |}. */
    public static String key(Object... parts) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < parts.length; i++) {
            text.append(i == 0 ? "" : "|").append(parts[i]);
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
