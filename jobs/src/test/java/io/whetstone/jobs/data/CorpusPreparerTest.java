package io.whetstone.jobs.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.records.Format;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.datasets.spark.DataValidationException;
import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading, validating, tokenizing, sharding and caching corpora through Spark. */
class CorpusPreparerTest {

    private static CorpusSpec spec(Path data, CorpusSpec.Validation validation, Path cache) {
        return new CorpusSpec(data.toUri().toString(), Format.PROMPT_COMPLETION, "auto", validation, 48, true,
                CorpusSpec.Truncation.ERROR, cache.toUri().toString());
    }

    private static List<String> corpusWithErrors() {
        List<String> lines = new ArrayList<>(TestData.promptCompletionLines(40, 1));
        lines.set(4, "{\"prompt\": \"a\", \"completion\": \"\"}");
        lines.set(9, "{\"prompt\": \"a\"");
        lines.set(20, "{\"prompt\": \"a\", \"completion\": \"" + "x".repeat(80) + "\"}");
        lines.add(30, "");
        return lines;
    }

    @Test
    void strictValidationFailsBeforeTrainingNamingFileLineAndField(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "corpus.jsonl", corpusWithErrors());
        SparkSession spark = SparkTestSession.get();
        DataValidationException error = assertThrows(DataValidationException.class, () -> new CorpusPreparer(spark)
                .prepare(spec(data, CorpusSpec.Validation.STRICT, dir.resolve("cache")), new ByteTokenizer(), 2,
                        dir.resolve("rejects").toString()));
        assertEquals(3, error.count());
        assertEquals(List.of(5L, 10L, 21L), error.examples().stream().map(e -> e.line()).collect(Collectors.toList()));
        assertEquals(List.of("completion", "-", "-"),
                error.examples().stream().map(e -> e.field()).collect(Collectors.toList()));
        assertTrue(error.examples().get(0).source().endsWith("/corpus.jsonl"), error.examples().get(0).source());
        assertTrue(error.getMessage().contains("corpus.jsonl:5: completion: is empty"), error.getMessage());
        assertTrue(error.getMessage().contains("exceeds seq_len + 1 = 49"), error.getMessage());
        assertTrue(error.getMessage().contains("not valid JSON"), error.getMessage());
    }

    @Test
    void lenientValidationWritesRejectsWithReasonsAndCounts(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "corpus.jsonl", corpusWithErrors());
        SparkSession spark = SparkTestSession.get();
        Path rejects = dir.resolve("rejects");
        CorpusPreparer.Prepared prepared = new CorpusPreparer(spark).prepare(
                spec(data, CorpusSpec.Validation.LENIENT, dir.resolve("cache")), new ByteTokenizer(), 2,
                rejects.toUri().toString());
        assertEquals(40, prepared.stats().records());
        assertEquals(3, prepared.stats().rejected());
        assertEquals(37, prepared.stats().examples());
        assertTrue(Files.exists(rejects.resolve("_SUCCESS")));
        List<String> rejected;
        try (Stream<Path> parts = Files.list(rejects)) {
            rejected = parts.filter(p -> p.getFileName().toString().startsWith("part-")).flatMap(p -> {
                try {
                    return Files.readAllLines(p).stream();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).collect(Collectors.toList());
        }
        assertEquals(3, rejected.size());
        assertTrue(rejected.get(0).contains("\"line\":5") && rejected.get(0).contains("is empty"), rejected.get(0));
        long examples = prepared.rows().collect().stream().mapToLong(PackedSequence::examples).sum();
        assertEquals(37, examples, "every valid example is in exactly one row");
    }

    /** The same corpus in another directory (a run directory, a copy on another cluster) gives the same shards. */
    @Test
    void aCorpusMovedElsewhereShardsTheSame(@TempDir Path dir) throws IOException {
        List<String> lines = TestData.promptCompletionLines(60, 5);
        Path here = TestData.write(dir.resolve("a"), "corpus.jsonl", lines);
        Path there = TestData.write(dir.resolve("b/nested"), "corpus.jsonl", lines);
        SparkSession spark = SparkTestSession.get();
        CorpusPreparer.Prepared first = new CorpusPreparer(spark).prepare(spec(here, CorpusSpec.Validation.STRICT,
                dir.resolve("cache-a")), new ByteTokenizer(), 3, dir.resolve("r").toString());
        CorpusPreparer.Prepared second = new CorpusPreparer(spark).prepare(spec(there, CorpusSpec.Validation.STRICT,
                dir.resolve("cache-b")), new ByteTokenizer(), 3, dir.resolve("r").toString());
        assertEquals(first.rows().glom().collect(), second.rows().glom().collect());
        assertEquals("file:/x/", CorpusPreparer.commonRoot(List.of("file:/x/a.jsonl:10:1", "file:/x/b.jsonl:10:1")));
        assertEquals("file:/x/", CorpusPreparer.commonRoot(List.of("file:/x/a/1.jsonl:10:1", "file:/x/b/2.jsonl:3:1")));
        assertEquals("hdfs://nn:8020/d/", CorpusPreparer.commonRoot(List.of("hdfs://nn:8020/d/p.parquet:5:9")));
    }

    @Test
    void secondRunUsesTheCacheAndGivesTheSameShards(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "corpus.jsonl", TestData.promptCompletionLines(60, 2));
        SparkSession spark = SparkTestSession.get();
        CorpusSpec spec = spec(data, CorpusSpec.Validation.STRICT, dir.resolve("cache"));
        CorpusPreparer.Prepared first = new CorpusPreparer(spark).prepare(spec, new ByteTokenizer(), 3,
                dir.resolve("r").toString());
        CorpusPreparer.Prepared second = new CorpusPreparer(spark).prepare(spec, new ByteTokenizer(), 3,
                dir.resolve("r").toString());
        assertFalse(first.stats().fromCache());
        assertTrue(second.stats().fromCache());
        assertEquals(first.cachePath(), second.cachePath());
        assertEquals(3, second.rows().getNumPartitions());
        assertEquals(first.rows().glom().collect(), second.rows().glom().collect());
        // A different shard count is a different cache entry.
        CorpusPreparer.Prepared two = new CorpusPreparer(spark).prepare(spec, new ByteTokenizer(), 2,
                dir.resolve("r").toString());
        assertFalse(two.stats().fromCache());
    }

    @Test
    void parquetErrorsNameTheRow(@TempDir Path dir) {
        SparkSession spark = SparkTestSession.get();
        StructType schema = new StructType().add("prompt", DataTypes.StringType).add("completion", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            rows.add(RowFactory.create("q" + i, i == 6 ? "" : "a" + i));
        }
        Dataset<Row> frame = spark.createDataFrame(rows, schema).coalesce(1);
        Path parquet = dir.resolve("corpus.parquet");
        frame.write().parquet(parquet.toString());
        DataValidationException error = assertThrows(DataValidationException.class, () -> new CorpusPreparer(spark)
                .prepare(spec(parquet, CorpusSpec.Validation.STRICT, dir.resolve("cache")), new ByteTokenizer(), 2,
                        dir.resolve("rejects").toString()));
        assertEquals(1, error.count());
        assertEquals(6, error.examples().get(0).line());
        assertEquals("completion", error.examples().get(0).field());
        assertTrue(error.examples().get(0).source().contains("corpus.parquet/part-"), error.examples().get(0).source());
    }

    /** data.columns: a table's or a JSONL file's fields stored under other names are read as the format's. */
    @Test
    void fieldsAreReadFromTheColumnsTheMapNames(@TempDir Path dir) throws IOException {
        SparkSession spark = SparkTestSession.get();
        StructType schema = new StructType().add("problem", DataTypes.StringType).add("solution", DataTypes.StringType)
                .add("score", DataTypes.DoubleType);
        List<Row> rows = new ArrayList<>();
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            rows.add(RowFactory.create("q" + i, "a" + i, 0.5));
            jsonl.append("{\"problem\": \"q").append(i).append("\", \"solution\": \"a").append(i).append("\"}\n");
        }
        Path parquet = dir.resolve("table");
        spark.createDataFrame(rows, schema).coalesce(1).write().parquet(parquet.toString());
        Path lines = Files.writeString(dir.resolve("renamed.jsonl"), jsonl.toString());
        io.whetstone.datasets.spark.ColumnMap columns = new io.whetstone.datasets.spark.ColumnMap(
                java.util.Map.of("prompt", "problem", "completion", "solution"));
        for (Path data : List.of(parquet, lines)) {
            CorpusPreparer.Prepared prepared = new CorpusPreparer(spark).prepare(
                    spec(data, CorpusSpec.Validation.STRICT, dir.resolve("cache")).withColumns(columns),
                    new ByteTokenizer(), 2, dir.resolve("rejects").toString());
            assertEquals(12, prepared.stats().examples(), data.toString());
            assertEquals(0, prepared.stats().rejected());
        }
        // without the map, the same table has none of the format's fields
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> new CorpusPreparer(spark)
                .prepare(spec(parquet, CorpusSpec.Validation.STRICT, dir.resolve("cache")), new ByteTokenizer(), 2,
                        dir.resolve("rejects").toString()));
        assertTrue(none.getMessage().contains("has none of the format's columns"), none.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> new CorpusPreparer(spark)
                .prepare(spec(parquet, CorpusSpec.Validation.STRICT, dir.resolve("cache")).withColumns(
                        new io.whetstone.datasets.spark.ColumnMap(java.util.Map.of("prompt", "question"))),
                        new ByteTokenizer(), 2, dir.resolve("rejects").toString()));
        assertTrue(missing.getMessage().contains("data.columns.prompt names column 'question', which the table "
                + "does not have"), missing.getMessage());
        IllegalArgumentException notAField = assertThrows(IllegalArgumentException.class, () -> new CorpusPreparer(spark)
                .prepare(spec(lines, CorpusSpec.Validation.STRICT, dir.resolve("cache")).withColumns(
                        new io.whetstone.datasets.spark.ColumnMap(java.util.Map.of("answer", "solution"))),
                        new ByteTokenizer(), 2, dir.resolve("rejects").toString()));
        assertTrue(notAField.getMessage().contains("data.columns: 'answer' is not a field of the format"),
                notAField.getMessage());
    }

    /**
     * Auto detects the container by the files' content: a Spark-written Parquet directory without .parquet in its
     * name is Parquet (it was read as JSONL), a JSONL file named .parquet is JSONL, and a mix is refused.
     */
    @Test
    void autoDetectsParquetByContentNotName(@TempDir Path dir) throws IOException {
        SparkSession spark = SparkTestSession.get();
        StructType schema = new StructType().add("prompt", DataTypes.StringType).add("completion", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            rows.add(RowFactory.create("q" + i, "a" + i));
        }
        Path sparkDir = dir.resolve("exported");
        spark.createDataFrame(rows, schema).coalesce(2).write().parquet(sparkDir.toString());
        assertTrue(Files.exists(sparkDir.resolve("_SUCCESS")));
        org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
        assertTrue(io.whetstone.datasets.spark.CorpusReader.isParquet(conf, sparkDir.toUri().toString(), "auto"));
        assertTrue(io.whetstone.datasets.spark.CorpusReader.isParquet(conf, sparkDir + "/part-*", "auto"));
        assertEquals(10, new CorpusPreparer(spark).prepare(spec(sparkDir, CorpusSpec.Validation.STRICT,
                dir.resolve("cache")), new ByteTokenizer(), 2, dir.resolve("rejects").toString()).stats().examples());

        Path misnamed = TestData.write(dir, "really-jsonl.parquet", TestData.promptCompletionLines(5, 1));
        assertFalse(io.whetstone.datasets.spark.CorpusReader.isParquet(conf, misnamed.toUri().toString(), "auto"));
        assertTrue(io.whetstone.datasets.spark.CorpusReader.isParquet(conf, misnamed.toUri().toString(), "parquet"),
                "a declared container is taken as declared");

        Files.copy(misnamed, sparkDir.resolve("extra.jsonl"));
        IllegalArgumentException mixed = assertThrows(IllegalArgumentException.class,
                () -> io.whetstone.datasets.spark.CorpusReader.isParquet(conf, sparkDir.toUri().toString(), "auto"));
        assertTrue(mixed.getMessage().contains("mixes Parquet files") && mixed.getMessage().contains("extra.jsonl"),
                mixed.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> io.whetstone.datasets.spark.CorpusReader.isParquet(conf, dir.resolve("nope").toUri().toString(),
                        "auto"));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    }

    /** A pipeline's Parquet table with more columns than the format: only the format's columns are read. */
    @Test
    void parquetColumnsOutsideTheFormatAreNotRead(@TempDir Path dir) {
        SparkSession spark = SparkTestSession.get();
        StructType schema = new StructType().add("prompt", DataTypes.StringType).add("completion", DataTypes.StringType)
                .add("source", DataTypes.StringType).add("score", DataTypes.DoubleType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            rows.add(RowFactory.create("q" + i, "a" + i, "crawl-" + i, 0.5 * i));
        }
        Path table = dir.resolve("pipeline-output");
        spark.createDataFrame(rows, schema).coalesce(1).write().parquet(table.toString());
        CorpusPreparer.Prepared prepared = new CorpusPreparer(spark).prepare(spec(table, CorpusSpec.Validation.STRICT,
                dir.resolve("cache")), new ByteTokenizer(), 2, dir.resolve("rejects").toString());
        assertEquals(8, prepared.stats().examples());
        assertEquals(0, prepared.stats().rejected());

        Path wrong = dir.resolve("wrong-columns");
        spark.createDataFrame(rows, schema).select("source", "score").write().parquet(wrong.toString());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> new CorpusPreparer(spark)
                .prepare(spec(wrong, CorpusSpec.Validation.STRICT, dir.resolve("cache")), new ByteTokenizer(), 2,
                        dir.resolve("rejects2").toString()));
        assertTrue(none.getMessage().contains("has none of the format's columns"), none.getMessage());
    }
}
