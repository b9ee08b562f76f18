package io.whetstone.datasets.spark;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.pack.Packer;
import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.records.Parsed;
import io.whetstone.datasets.records.RecordError;
import io.whetstone.datasets.records.RecordParser;
import io.whetstone.datasets.tokenize.TokenizedExample;
import io.whetstone.datasets.tokenize.Tokenizer;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.HashPartitioner;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Reads, validates, tokenizes (on the executors), shards and packs a corpus into {@code partitions}
 * shards of {@link PackedSequence} rows, and caches the result as Parquet under a key derived from the
 * input files (path, size, modification time) and every setting that changes the rows, so a nightly
 * rerun on unchanged input skips straight to training. A cache directory holds {@code rows/} (Parquet),
 * {@code manifest.json} (inputs and statistics) and {@code _SUCCESS}, written last.
 *
 * <p>Sharding is deterministic: an example's shard is a hash of its file (relative to the directory that
 * holds all input files, so a corpus moved or copied elsewhere shards the same) and line, and each shard
 * packs its examples in file and line order, so the same input always gives the same rows in the same shard.
 */
public final class CorpusPreparer {

    private static final Logger LOG = LoggerFactory.getLogger(CorpusPreparer.class);
    /** Bump when the layout of rows changes, so old caches are not reused. */
    private static final String CACHE_VERSION = "rows-v2";

    private final SparkSession spark;
    private final JavaSparkContext context;

    public CorpusPreparer(SparkSession spark) {
        this.spark = spark;
        this.context = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    /** The prepared corpus: rows in exactly {@code partitions} shards, and what was found. */
    public record Prepared(JavaRDD<PackedSequence> rows, CorpusStats stats, String cachePath) {
    }

    /** One record after parsing and tokenizing: a tokenized example (maybe truncated) or an error. */
    record Outcome(TokenizedExample example, boolean truncated, RecordError error) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * Prepares {@code spec} for {@code partitions} shards. Invalid records fail the call (strict) or are
     * written to {@code rejectsDir} as JSON lines with their reasons (lenient). Nothing is dropped silently.
     */
    public Prepared prepare(CorpusSpec spec, Tokenizer tokenizer, int partitions, String rejectsDir) {
        return prepare(spec, tokenizer, new ChatTemplateSpec(), partitions, rejectsDir);
    }

    /** As {@link #prepare(CorpusSpec, Tokenizer, int, String)}, with chats laid out by {@code chat}. */
    public Prepared prepare(CorpusSpec spec, Tokenizer tokenizer, ChatTemplateSpec chat, int partitions,
                            String rejectsDir) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be >= 1: " + partitions);
        }
        Object[] settings = {CACHE_VERSION, spec.format(),
                CorpusReader.isParquet(context.hadoopConfiguration(), spec.path(), spec.container()), tokenizer.id(),
                spec.seqLen(), spec.packing(), spec.truncation(), spec.validation(), partitions};
        if (spec.split().active()) { // the key of a whole corpus is as before, so existing caches stay valid
            settings = java.util.Arrays.copyOf(settings, settings.length + 1);
            settings[settings.length - 1] = spec.split();
        }
        if (spec.columns().active()) {
            settings = java.util.Arrays.copyOf(settings, settings.length + 1);
            settings[settings.length - 1] = spec.columns().fieldToColumn();
        }
        if (chat.model().isPresent()) { // whetstone's markers keep the keys existing caches have
            settings = java.util.Arrays.copyOf(settings, settings.length + 1);
            settings[settings.length - 1] = chat.fingerprint();
        }
        String key = TokenizedCache.key(context.hadoopConfiguration(), spec.path(), settings);
        Path cache = new Path(spec.cacheDir(), "tokenized-" + key);
        try {
            FileSystem fs = cache.getFileSystem(context.hadoopConfiguration());
            Optional<CorpusStats> cached = TokenizedCache.stats(fs, cache, CorpusStats.class);
            if (cached.isPresent()) {
                CorpusStats stats = cached.get().withFromCache(true);
                LOG.info("Using the tokenized corpus cached at {} ({} rows, {} examples)", cache, stats.rows(),
                        stats.examples());
                return new Prepared(load(new Path(cache, "rows").toString(), partitions), stats, cache.toString());
            }
            CorpusStats stats = build(spec, tokenizer, chat, partitions, rejectsDir, fs, cache);
            return new Prepared(load(new Path(cache, "rows").toString(), partitions), stats, cache.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare corpus " + spec.path() + " (cache " + cache + ")", e);
        }
    }

    private CorpusStats build(CorpusSpec spec, Tokenizer tokenizer, ChatTemplateSpec chat, int partitions, String rejectsDir,
                              FileSystem cacheFs, Path cache) throws IOException {
        context.setJobDescription("whetstone: read and validate " + spec.path());
        JavaRDD<RawRecord> raw = CorpusReader.read(spark, spec.path(), spec.container(), spec.format().fields(),
                spec.columns());
        HeldOutSplit split = spec.split();
        if (split.active()) {
            raw = raw.filter(record -> split.keeps(record.json()));
            LOG.info("Reading the {} side of {}: records whose content hash falls {} {} of the range", split.heldOut()
                    ? "held-out" : "training", spec.path(), split.heldOut() ? "in the first" : "outside the first",
                    split.fraction());
        }
        RecordParser parser = new RecordParser(spec.format(), chat);
        int maxLength = spec.seqLen() + 1;
        CorpusSpec.Truncation truncation = spec.truncation();
        JavaRDD<Outcome> outcomes = raw.map(record -> {
            Parsed parsed = parser.parseJson(record.source(), record.line(), record.json());
            if (!parsed.ok()) {
                return new Outcome(null, false, parsed.error());
            }
            TokenizedExample example;
            try {
                example = TokenizedExample.of(parsed.example(), tokenizer);
            } catch (IllegalArgumentException e) {
                return new Outcome(null, false, new RecordError(record.source(), record.line(), "-",
                        e.getMessage(), record.json()));
            }
            if (example.length() > maxLength) {
                if (truncation == CorpusSpec.Truncation.ERROR) {
                    return new Outcome(null, false, new RecordError(record.source(), record.line(), "-",
                            "sequence of " + example.length() + " tokens exceeds seq_len + 1 = " + maxLength
                                    + " (set data.truncation=truncate to cut it, or raise data.seq_len)",
                            record.json()));
                }
                return new Outcome(example.truncate(maxLength), true, null);
            }
            return new Outcome(example, false, null);
        }).persist(StorageLevel.MEMORY_AND_DISK());
        Path temporary = TokenizedCache.temporary(cache);
        try {
            long records = outcomes.count();
            long rejected = Rejects.enforce(context, outcomes.filter(o -> o.error() != null).map(Outcome::error),
                    records, spec.path(), spec.validation(), rejectsDir);
            JavaRDD<Outcome> valid = outcomes.filter(o -> o.example() != null);
            long truncated = valid.filter(Outcome::truncated).count();
            if (truncated > 0) {
                LOG.warn("{} examples were longer than seq_len + 1 = {} and were truncated (data.truncation=truncate)",
                        truncated, maxLength);
            }
            context.setJobDescription("whetstone: tokenize, shard and pack " + spec.path());
            int padId = tokenizer.padId();
            Packer packer = new Packer(spec.seqLen(), padId, spec.packing());
            String root = commonRoot(inputFiles(context.hadoopConfiguration(), spec.path()));
            JavaRDD<Row> rows = valid.mapToPair(o -> new Tuple2<>(shardKey(o.example(), root), o.example()))
                    .partitionBy(new HashPartitioner(partitions))
                    .mapPartitionsWithIndex((shard, iterator) -> {
                        List<TokenizedExample> examples = new ArrayList<>();
                        iterator.forEachRemaining(entry -> examples.add(entry._2()));
                        examples.sort(Comparator.comparing(TokenizedExample::source)
                                .thenComparingLong(TokenizedExample::line));
                        List<PackedSequence> packed = packer.pack(examples);
                        List<Row> out = new ArrayList<>(packed.size());
                        for (int i = 0; i < packed.size(); i++) {
                            PackedSequence row = packed.get(i);
                            out.add(RowFactory.create(shard, i, row.ids(), row.targetMask(), row.examples()));
                        }
                        return out.iterator();
                    }, true);
            Dataset<Row> frame = spark.createDataFrame(rows, rowSchema());
            Path rowsDir = new Path(temporary, "rows");
            frame.write().parquet(rowsDir.toString());
            Dataset<Row> written = spark.read().parquet(rowsDir.toString());
            long rowCount = written.count();
            long examples = valid.count();
            long trainable = written.javaRDD().map(row -> {
                List<Boolean> mask = row.getList(3);
                long count = 0;
                for (int i = 1; i < mask.size(); i++) {
                    if (mask.get(i)) {
                        count++;
                    }
                }
                return count;
            }).fold(0L, Long::sum);
            if (examples == 0) {
                throw new IllegalArgumentException("no valid examples in " + spec.path() + " (" + records
                        + " records read, " + rejected + " rejected)");
            }
            CorpusStats stats = new CorpusStats(records, examples, rejected, truncated, rowCount, trainable, false);
            TokenizedCache.publish(cacheFs, temporary, cache, manifest(spec, tokenizer, partitions), stats);
            LOG.info("Tokenized {} examples into {} rows of {} tokens in {} shards; cached at {}", examples, rowCount,
                    spec.seqLen(), partitions, cache);
            return stats;
        } finally {
            outcomes.unpersist(false);
            TokenizedCache.discard(cacheFs, temporary);
        }
    }

    /** Rows of the cache at {@code path}, shard p in partition p, in packing order. */
    JavaRDD<PackedSequence> load(String path, int partitions) {
        return loadShards(spark, path, partitions, CorpusPreparer::packed);
    }

    /**
     * Rows of a Parquet table laid out like the corpus cache (partition, index, ids, mask, examples, and
     * possibly more columns), row r of shard p back in partition p at position r, each made by {@code convert}.
     */
    public static <T> JavaRDD<T> loadShards(SparkSession spark, String path, int partitions,
                                            org.apache.spark.api.java.function.Function<Row, T> convert) {
        return spark.read().parquet(path).javaRDD()
                .mapToPair(row -> new Tuple2<>(row.getInt(0), row))
                .partitionBy(new ExactPartitioner(partitions))
                .mapPartitions(iterator -> {
                    List<Row> rows = new ArrayList<>();
                    iterator.forEachRemaining(entry -> rows.add(entry._2()));
                    rows.sort(Comparator.comparingInt(row -> row.getInt(1)));
                    List<T> out = new ArrayList<>(rows.size());
                    for (Row row : rows) {
                        out.add(convert.call(row));
                    }
                    return out.iterator();
                }, true);
    }

    /** The packed row in columns 2-4 (ids, mask, examples) of a cache row. */
    public static PackedSequence packed(Row row) {
        List<Integer> ids = row.getList(2);
        List<Boolean> mask = row.getList(3);
        int[] idArray = new int[ids.size()];
        boolean[] maskArray = new boolean[mask.size()];
        for (int i = 0; i < idArray.length; i++) {
            idArray[i] = ids.get(i);
            maskArray[i] = mask.get(i);
        }
        return new PackedSequence(idArray, maskArray, row.getInt(4));
    }

    private static StructType rowSchema() {
        return new StructType()
                .add("partition", DataTypes.IntegerType, false)
                .add("index", DataTypes.IntegerType, false)
                .add("ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                .add("mask", DataTypes.createArrayType(DataTypes.BooleanType, false), false)
                .add("examples", DataTypes.IntegerType, false);
    }

    /** A stable hash of an example's origin (String.hashCode is the same on every JVM). */
    static int shardKey(TokenizedExample example, String root) {
        return shardKey(example.source(), example.line(), root);
    }

    /** A stable hash of a record's file (below {@code root}) and line. */
    static int shardKey(String source, long line, String root) {
        String relative = source.startsWith(root) ? source.substring(root.length()) : source;
        return (relative + ":" + line).hashCode();
    }

    /** The directory (ending in /) that holds every file of {@code files} (path:length:mtime entries). */
    public static String commonRoot(List<String> files) {
        String common = null;
        for (String entry : files) {
            int mtime = entry.lastIndexOf(':');
            String path = entry.substring(0, entry.lastIndexOf(':', mtime - 1));
            String parent = path.substring(0, path.lastIndexOf('/') + 1);
            if (common == null) {
                common = parent;
            }
            while (!parent.startsWith(common)) {
                common = common.substring(0, common.lastIndexOf('/', common.length() - 2) + 1);
            }
        }
        return common == null ? "" : common;
    }

    /** Puts key k in partition k. */
    static final class ExactPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int partitions;

        ExactPartitioner(int partitions) {
            this.partitions = partitions;
        }

        @Override
        public int numPartitions() {
            return partitions;
        }

        @Override
        public int getPartition(Object key) {
            return (Integer) key;
        }
    }

    /**
     * path:length:mtime of every data file under a path, directory or glob (names starting with _ or .
     * skipped), sorted: what a cache key of the input is made of. Fails clearly when the path matches nothing.
     */
    public static List<String> inputFiles(org.apache.hadoop.conf.Configuration conf, String pattern) throws IOException {
        Path path = new Path(pattern);
        FileSystem fs = path.getFileSystem(conf);
        FileStatus[] matches = fs.globStatus(path);
        if (matches == null || matches.length == 0) {
            throw new IllegalArgumentException("data.path " + pattern + " matches no file");
        }
        List<String> files = new ArrayList<>();
        for (FileStatus match : matches) {
            RemoteIterator<LocatedFileStatus> iterator = fs.listFiles(match.getPath(), true);
            while (iterator.hasNext()) {
                LocatedFileStatus file = iterator.next();
                String name = file.getPath().getName();
                if (name.startsWith("_") || name.startsWith(".")) {
                    continue;
                }
                files.add(file.getPath() + ":" + file.getLen() + ":" + file.getModificationTime());
            }
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("data.path " + pattern + " holds no data files");
        }
        files.sort(String::compareTo);
        return files;
    }

    private static Map<String, Object> manifest(CorpusSpec spec, Tokenizer tokenizer, int partitions) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("version", CACHE_VERSION);
        fields.put("path", spec.path());
        fields.put("format", spec.format().id());
        fields.put("tokenizer", tokenizer.id());
        fields.put("seq_len", spec.seqLen());
        fields.put("packing", spec.packing());
        fields.put("partitions", partitions);
        fields.put("split", spec.split().toString());
        return fields;
    }
}
