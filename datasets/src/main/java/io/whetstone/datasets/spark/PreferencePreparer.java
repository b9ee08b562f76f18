package io.whetstone.datasets.spark;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.pack.Packer;
import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.records.Example;
import io.whetstone.datasets.records.ParsedPreference;
import io.whetstone.datasets.records.PreferenceExample;
import io.whetstone.datasets.records.PreferenceParser;
import io.whetstone.datasets.records.RecordError;
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
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
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
 * Reads, validates, tokenizes (on the executors) and shards a preference corpus into {@code partitions}
 * shards of {@link PreferenceRow}s, cached as Parquet like {@link CorpusPreparer}'s rows (same key inputs,
 * same atomic write). A pair is one unit from the record to the batch: both completions are tokenized,
 * checked and (with {@code truncation=truncate}) cut together, land in the same shard and train in the same
 * step. Each completion gets its own row (no packing), so the chosen and rejected rows never see each other.
 */
public final class PreferencePreparer {

    private static final Logger LOG = LoggerFactory.getLogger(PreferencePreparer.class);
    /** Bump when the layout of rows changes, so old caches are not reused. */
    private static final String CACHE_VERSION = "preference-rows-v1";

    private final SparkSession spark;
    private final JavaSparkContext context;

    public PreferencePreparer(SparkSession spark) {
        this.spark = spark;
        this.context = JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    /** The prepared corpus: units in exactly {@code partitions} shards, and what was found. */
    public record Prepared(JavaRDD<PreferenceRow> rows, PreferenceStats stats, String cachePath) {
    }

    /** A unit with its origin (for sharding and order), and whether a completion was cut. */
    record Unit(String source, long line, PreferenceRow row, boolean truncated) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** One record after parsing and tokenizing: a unit or an error. */
    record Outcome(Unit unit, RecordError error) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    public Prepared prepare(PreferenceSpec spec, Tokenizer tokenizer, int partitions, String rejectsDir) {
        return prepare(spec, tokenizer, new ChatTemplateSpec(), partitions, rejectsDir);
    }

    /** As {@link #prepare(PreferenceSpec, Tokenizer, int, String)}, with chats laid out by {@code chat}. */
    public Prepared prepare(PreferenceSpec spec, Tokenizer tokenizer, ChatTemplateSpec chat, int partitions,
                            String rejectsDir) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be >= 1: " + partitions);
        }
        String key = TokenizedCache.key(context.hadoopConfiguration(), spec.path(), CACHE_VERSION, spec.format(),
                CorpusReader.isParquet(context.hadoopConfiguration(), spec.path(), spec.container()), tokenizer.id(), spec.seqLen(),
                spec.truncation(), spec.validation(), partitions + "|window=" + spec.divergenceWindow()
                        + (spec.columns().active() ? "|columns=" + spec.columns().fieldToColumn() : "")
                        + (chat.model().isPresent() ? "|chat=" + chat.fingerprint() : ""));
        Path cache = new Path(spec.cacheDir(), "preference-" + key);
        try {
            FileSystem fs = cache.getFileSystem(context.hadoopConfiguration());
            Optional<PreferenceStats> cached = TokenizedCache.stats(fs, cache, PreferenceStats.class);
            if (cached.isPresent()) {
                PreferenceStats stats = cached.get().withFromCache(true);
                LOG.info("Using the tokenized preference corpus cached at {} ({} units)", cache, stats.units());
                return new Prepared(load(new Path(cache, "rows").toString(), partitions), stats, cache.toString());
            }
            PreferenceStats stats = build(spec, tokenizer, chat, partitions, rejectsDir, fs, cache);
            return new Prepared(load(new Path(cache, "rows").toString(), partitions), stats, cache.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare preference corpus " + spec.path() + " (cache " + cache + ")",
                    e);
        }
    }

    /**
     * One record laid out and tokenized as training lays it out (a completion longer than seq_len + 1 is cut), for
     * scoring it outside training (eval-rm); bad records throw an IllegalArgumentException naming file, line and field.
     */
    public static PreferenceRow unit(PreferenceParser parser, String source, long line, String json,
                                     Tokenizer tokenizer, int seqLen) {
        Outcome outcome = tokenize(parser.parseJson(source, line, json), source, line, json, tokenizer, seqLen,
                CorpusSpec.Truncation.TRUNCATE);
        if (outcome.error() != null) {
            throw new IllegalArgumentException(outcome.error().describe());
        }
        return outcome.unit().row();
    }

    /**
     * Tokenizes one parsed record into a unit, or says why it cannot be one: a completion longer than the row
     * (with {@code truncation=error}), or a prompt that leaves no completion token in the row.
     */
    static Outcome tokenize(ParsedPreference parsed, String source, long line, String raw, Tokenizer tokenizer,
                            int seqLen, CorpusSpec.Truncation truncation) {
        return tokenize(parsed, source, line, raw, tokenizer, seqLen, truncation, 0);
    }

    /** As above; pairs keep their loss masks only up to {@code window} tokens past their first difference. */
    static Outcome tokenize(ParsedPreference parsed, String source, long line, String raw, Tokenizer tokenizer,
                            int seqLen, CorpusSpec.Truncation truncation, int window) {
        if (!parsed.ok()) {
            return new Outcome(null, parsed.error());
        }
        Packer packer = new Packer(seqLen, tokenizer.padId(), false);
        try {
            if (parsed.example() instanceof PreferenceExample.Paired pair) {
                Fitted chosen = fit(pair.chosen(), "chosen", tokenizer, seqLen, truncation, source, line, raw);
                Fitted rejected = fit(pair.rejected(), "rejected", tokenizer, seqLen, truncation, source, line, raw);
                PackedSequence chosenRow = packer.pack(List.of(chosen.example)).get(0);
                PackedSequence rejectedRow = packer.pack(List.of(rejected.example)).get(0);
                if (window > 0) {
                    int end = firstDifference(chosenRow, rejectedRow) + window;
                    chosenRow = maskFrom(chosenRow, end);
                    rejectedRow = maskFrom(rejectedRow, end);
                }
                return new Outcome(new Unit(source, line, PreferenceRow.pair(chosenRow, rejectedRow, pair.margin()),
                        chosen.truncated || rejected.truncated), null);
            }
            PreferenceExample.Unpaired unpaired = (PreferenceExample.Unpaired) parsed.example();
            Fitted completion = fit(unpaired.completion(), "completion", tokenizer, seqLen, truncation, source, line,
                    raw);
            return new Outcome(new Unit(source, line, PreferenceRow.unpaired(packer.pack(List.of(completion.example))
                    .get(0), unpaired.desirable()), completion.truncated), null);
        } catch (Unfit unfit) {
            return new Outcome(null, unfit.error);
        } catch (IllegalArgumentException e) { // a special token the tokenizer lacks, and the like
            return new Outcome(null, new RecordError(source, line, "-", e.getMessage(), raw));
        }
    }

    /** The first position where two rows' ids differ (their common length if one is a prefix of the other). */
    static int firstDifference(PackedSequence a, PackedSequence b) {
        int i = 0;
        while (i < a.ids().length && a.ids()[i] == b.ids()[i]) {
            i++;
        }
        return i;
    }

    /** {@code row} with its loss mask cleared from position {@code end} on. */
    static PackedSequence maskFrom(PackedSequence row, int end) {
        boolean[] mask = row.targetMask().clone();
        for (int i = Math.max(0, end); i < mask.length; i++) {
            mask[i] = false;
        }
        return new PackedSequence(row.ids(), mask, row.examples());
    }

    private record Fitted(TokenizedExample example, boolean truncated) {
    }

    private static final class Unfit extends Exception {
        private static final long serialVersionUID = 1L;
        final RecordError error;

        Unfit(RecordError error) {
            super(error.describe(), null, false, false);
            this.error = error;
        }
    }

    private static Fitted fit(Example example, String field, Tokenizer tokenizer, int seqLen,
                              CorpusSpec.Truncation truncation, String source, long line, String raw) throws Unfit {
        TokenizedExample tokens = TokenizedExample.of(example, tokenizer);
        int maxLength = seqLen + 1;
        boolean truncated = false;
        if (tokens.length() > maxLength) {
            if (truncation == CorpusSpec.Truncation.ERROR) {
                throw new Unfit(new RecordError(source, line, field, "prompt and " + field + " take " + tokens.length()
                        + " tokens, over seq_len + 1 = " + maxLength
                        + " (set data.truncation=truncate to cut the completion, or raise data.seq_len)", raw));
            }
            tokens = tokens.truncate(maxLength);
            truncated = true;
        }
        int trained = 0;
        for (int i = 1; i < tokens.length(); i++) {
            trained += tokens.trainable()[i] ? 1 : 0;
        }
        if (trained == 0) {
            throw new Unfit(new RecordError(source, line, field, "the prompt fills the row of seq_len + 1 = "
                    + maxLength + " tokens and leaves none of the " + field + " to train on (raise data.seq_len)", raw));
        }
        return new Fitted(tokens, truncated);
    }

    private PreferenceStats build(PreferenceSpec spec, Tokenizer tokenizer, ChatTemplateSpec chat, int partitions, String rejectsDir,
                                  FileSystem cacheFs, Path cache) throws IOException {
        context.setJobDescription("whetstone: read, validate and tokenize preferences " + spec.path());
        JavaRDD<RawRecord> raw = CorpusReader.read(spark, spec.path(), spec.container(), spec.format().fields(),
                spec.columns());
        PreferenceParser parser = new PreferenceParser(spec.format(), chat);
        int seqLen = spec.seqLen();
        CorpusSpec.Truncation truncation = spec.truncation();
        int window = spec.divergenceWindow();
        JavaRDD<Outcome> outcomes = raw.map(record -> tokenize(parser.parseJson(record.source(), record.line(),
                record.json()), record.source(), record.line(), record.json(), tokenizer, seqLen, truncation, window))
                .persist(StorageLevel.MEMORY_AND_DISK());
        Path temporary = TokenizedCache.temporary(cache);
        try {
            long records = outcomes.count();
            long rejected = Rejects.enforce(context, outcomes.filter(o -> o.error() != null).map(Outcome::error),
                    records, spec.path(), spec.validation(), rejectsDir);
            JavaRDD<Unit> units = outcomes.filter(o -> o.unit() != null).map(Outcome::unit);
            long kept = units.count();
            if (kept == 0) {
                throw new IllegalArgumentException("no valid preference records in " + spec.path() + " (" + records
                        + " records read, " + rejected + " rejected)");
            }
            long truncated = units.filter(Unit::truncated).count();
            if (truncated > 0) {
                LOG.warn("{} of {} units had a completion longer than seq_len + 1 = {}, cut (data.truncation=truncate)",
                        truncated, kept, seqLen + 1);
            }
            long desirable = units.filter(u -> !u.row().paired() && u.row().desirable()).count();
            long chosenTokens = units.map(u -> (long) u.row().chosen().trainableTokens()).fold(0L, Long::sum);
            long rejectedTokens = units.map(u -> u.row().paired() ? (long) u.row().rejected().trainableTokens() : 0L)
                    .fold(0L, Long::sum);
            String root = CorpusPreparer.commonRoot(CorpusPreparer.inputFiles(context.hadoopConfiguration(),
                    spec.path()));
            JavaRDD<Row> rows = units.mapToPair(u -> new Tuple2<>(CorpusPreparer.shardKey(u.source(), u.line(), root), u))
                    .partitionBy(new HashPartitioner(partitions))
                    .mapPartitionsWithIndex((shard, iterator) -> {
                        List<Unit> list = new ArrayList<>();
                        iterator.forEachRemaining(entry -> list.add(entry._2()));
                        list.sort(Comparator.comparing(Unit::source).thenComparingLong(Unit::line));
                        List<Row> out = new ArrayList<>(list.size());
                        for (int i = 0; i < list.size(); i++) {
                            PreferenceRow row = list.get(i).row();
                            PackedSequence rejectedRow = row.rejected();
                            out.add(RowFactory.create(shard, i, row.chosen().ids(), row.chosen().targetMask(),
                                    rejectedRow == null ? null : rejectedRow.ids(),
                                    rejectedRow == null ? null : rejectedRow.targetMask(), row.desirable(),
                                    row.margin()));
                        }
                        return out.iterator();
                    }, true);
            context.setJobDescription("whetstone: shard and cache preferences " + spec.path());
            spark.createDataFrame(rows, schema()).write().parquet(new Path(temporary, "rows").toString());
            PreferenceStats stats = new PreferenceStats(records, kept, rejected, truncated, desirable, chosenTokens,
                    rejectedTokens, false);
            Map<String, Object> manifest = new LinkedHashMap<>();
            manifest.put("version", CACHE_VERSION);
            manifest.put("path", spec.path());
            manifest.put("format", spec.format().id());
            manifest.put("tokenizer", tokenizer.id());
            manifest.put("seq_len", spec.seqLen());
            manifest.put("divergence_window", spec.divergenceWindow());
            manifest.put("partitions", partitions);
            TokenizedCache.publish(cacheFs, temporary, cache, manifest, stats);
            LOG.info("Tokenized {} preference units ({} chosen and {} rejected trained tokens) into {} shards; cached at {}",
                    kept, chosenTokens, rejectedTokens, partitions, cache);
            return stats;
        } finally {
            outcomes.unpersist(false);
            TokenizedCache.discard(cacheFs, temporary);
        }
    }

    /** Units of the cache at {@code path}, shard p in partition p, in file and line order. */
    private JavaRDD<PreferenceRow> load(String path, int partitions) {
        return CorpusPreparer.loadShards(spark, path, partitions, PreferencePreparer::row);
    }

    /** The unit in a cache row (columns 2-7). */
    public static PreferenceRow row(Row row) {
        PackedSequence chosen = packed(row.getList(2), row.getList(3));
        PackedSequence rejected = row.isNullAt(4) ? null : packed(row.getList(4), row.getList(5));
        return new PreferenceRow(chosen, rejected, row.getBoolean(6), row.getDouble(7), Double.NaN, Double.NaN);
    }

    private static PackedSequence packed(List<Integer> ids, List<Boolean> mask) {
        int[] idArray = new int[ids.size()];
        boolean[] maskArray = new boolean[mask.size()];
        for (int i = 0; i < idArray.length; i++) {
            idArray[i] = ids.get(i);
            maskArray[i] = mask.get(i);
        }
        return new PackedSequence(idArray, maskArray, 1);
    }

    /** The cache's columns; the reference's log-probs, once computed, add two more (see the jobs' cache). */
    public static StructType schema() {
        return new StructType()
                .add("partition", DataTypes.IntegerType, false)
                .add("index", DataTypes.IntegerType, false)
                .add("chosen_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
                .add("chosen_mask", DataTypes.createArrayType(DataTypes.BooleanType, false), false)
                .add("rejected_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
                .add("rejected_mask", DataTypes.createArrayType(DataTypes.BooleanType, false), true)
                .add("desirable", DataTypes.BooleanType, false)
                .add("margin", DataTypes.DoubleType, false);
    }
}
