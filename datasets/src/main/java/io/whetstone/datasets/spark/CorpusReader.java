package io.whetstone.datasets.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import io.whetstone.datasets.records.JsonLine;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/**
 * Reads a corpus from any Hadoop path (file://, hdfs://, s3a:// where the cluster has the connector;
 * a file, a directory or a glob) as {@link RawRecord}s that know their file and line.
 *
 * <p>JSONL goes through Hadoop's {@code TextInputFormat} with one split per file, so a record's line
 * number is its position in its split: exact, with no second pass. Parallelism is one task per file
 * (compressed files are read whole anyway); the corpus is repartitioned after parsing. Parquet uses
 * Spark 3.5's {@code _metadata.row_index}.
 */
public final class CorpusReader {

    private CorpusReader() {
    }

    /** Parquet's magic number, at the start and the end of every Parquet file. */
    private static final byte[] PARQUET_MAGIC = {'P', 'A', 'R', '1'};

    /**
     * The container format of {@code path} under {@code declared} ({@code jsonl}, {@code parquet} or {@code auto}).
     * Auto reads the files, not the name: Parquet when every data file at the path (a file, a directory such as
     * one Spark wrote, or a glob; names starting with _ or . are Spark's and Hadoop's markers and skipped) begins
     * with Parquet's magic number, JSONL when none does; a mix is refused, naming a file of each.
     */
    public static boolean isParquet(Configuration conf, String path, String declared) {
        if (declared != null && !declared.isBlank() && !declared.equalsIgnoreCase("auto")) {
            return declared.equalsIgnoreCase("parquet");
        }
        try {
            Path pattern = new Path(path);
            FileSystem fs = pattern.getFileSystem(conf);
            FileStatus[] matched = fs.globStatus(pattern);
            if (matched == null || matched.length == 0) {
                throw new IllegalArgumentException("data.path " + path + " does not exist");
            }
            String parquet = null;
            String other = null;
            for (FileStatus status : matched) {
                RemoteIterator<LocatedFileStatus> files = status.isDirectory() ? fs.listFiles(status.getPath(), true)
                        : null;
                List<FileStatus> list = new ArrayList<>();
                if (files == null) {
                    list.add(status);
                } else {
                    while (files.hasNext()) {
                        list.add(files.next());
                    }
                }
                for (FileStatus file : list) {
                    if (hidden(file.getPath(), status.getPath()) || file.getLen() == 0) {
                        continue;
                    }
                    if (startsWithMagic(fs, file.getPath())) {
                        parquet = parquet == null ? file.getPath().toString() : parquet;
                    } else {
                        other = other == null ? file.getPath().toString() : other;
                    }
                }
            }
            if (parquet != null && other != null) {
                throw new IllegalArgumentException("data.path " + path + " mixes Parquet files (" + parquet
                        + ") with other files (" + other + "); point it at one kind or set data.container");
            }
            return parquet != null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path, e);
        }
    }

    /** A marker such as _SUCCESS or .part.crc, or a file under such a directory, below {@code root}. */
    private static boolean hidden(Path file, Path root) {
        for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
            if (p.getName().startsWith("_") || p.getName().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static boolean startsWithMagic(FileSystem fs, Path file) throws IOException {
        byte[] head = new byte[PARQUET_MAGIC.length];
        try (FSDataInputStream in = fs.open(file)) {
            in.readFully(0, head);
        } catch (java.io.EOFException e) {
            return false;
        }
        return java.util.Arrays.equals(head, PARQUET_MAGIC);
    }

    /** JSONL records of every file at {@code path}; blank lines are skipped (and not counted as errors). */
    public static JavaRDD<RawRecord> jsonl(JavaSparkContext context, String path) {
        Configuration conf = new Configuration(context.hadoopConfiguration());
        conf.setLong("mapreduce.input.fileinputformat.split.minsize", Long.MAX_VALUE);
        conf.setBoolean("mapreduce.input.fileinputformat.input.dir.recursive", true);
        JavaNewHadoopRDD<LongWritable, Text> lines = (JavaNewHadoopRDD<LongWritable, Text>) context.newAPIHadoopFile(
                path, TextInputFormat.class, LongWritable.class, Text.class, conf);
        return lines.mapPartitionsWithInputSplit((split, iterator) -> {
            String source = ((FileSplit) split).getPath().toString();
            if (((FileSplit) split).getStart() != 0) {
                throw new IllegalStateException("expected one split per file, got one at offset "
                        + ((FileSplit) split).getStart() + " of " + source);
            }
            return new Iterator<RawRecord>() {
                private long line;
                private RawRecord next = advance();

                private RawRecord advance() {
                    while (iterator.hasNext()) {
                        Tuple2<LongWritable, Text> entry = iterator.next();
                        line++;
                        String text = strictUtf8(entry._2());
                        if (!text.isBlank()) {
                            return new RawRecord(source, line, text);
                        }
                    }
                    return null;
                }

                @Override
                public boolean hasNext() {
                    return next != null;
                }

                @Override
                public RawRecord next() {
                    RawRecord current = next;
                    next = advance();
                    return current;
                }
            };
        }, false);
    }

    /**
     * The line's text; invalid UTF-8 is marked ({@link JsonLine#INVALID_UTF8}) so the parser rejects the line,
     * where Hadoop's {@code Text.toString()} would silently replace the bytes and train on the result.
     */
    static String strictUtf8(Text line) {
        try {
            return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(line.getBytes(), 0, line.getLength())).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return JsonLine.INVALID_UTF8 + line;
        }
    }

    /** Parquet rows of {@code path}, each as the JSON of its columns, with file and row index. */
    public static JavaRDD<RawRecord> parquet(SparkSession spark, String path) {
        return parquet(spark, path, null);
    }

    /**
     * Parquet rows of {@code path} as the JSON of the columns named in {@code fields} (null: every column). A table
     * from a data pipeline often carries more columns than the record format has (ids, timestamps, scores); those
     * are not read, and listed once in the log. A missing field is the record parser's error, row by row.
     */
    public static JavaRDD<RawRecord> parquet(SparkSession spark, String path, java.util.Set<String> fields) {
        return parquet(spark, path, fields, ColumnMap.NONE);
    }

    /**
     * The records of {@code path} as JSON objects with the format's {@code fields}: Parquet as {@link #parquet}
     * reads it, JSONL line by line; {@code columns} says which column or key holds a field of another name.
     */
    public static JavaRDD<RawRecord> read(SparkSession spark, String path, String container,
                                          java.util.Set<String> fields, ColumnMap columns) {
        columns.check(fields);
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        if (isParquet(context.hadoopConfiguration(), path, container)) {
            return parquet(spark, path, fields, columns);
        }
        JavaRDD<RawRecord> lines = jsonl(context, path);
        return columns.active() ? lines.map(columns::rename) : lines;
    }

    /** {@link #parquet(SparkSession, String, java.util.Set)} with fields read from the columns {@code map} names. */
    public static JavaRDD<RawRecord> parquet(SparkSession spark, String path, java.util.Set<String> fields,
                                             ColumnMap map) {
        Dataset<Row> frame = spark.read().parquet(path);
        List<Column> columns = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        java.util.Set<String> present = new java.util.HashSet<>(List.of(frame.columns()));
        for (Map.Entry<String, String> mapped : map.fieldToColumn().entrySet()) {
            if (!present.contains(mapped.getValue())) {
                throw new IllegalArgumentException(path + ": data.columns." + mapped.getKey() + " names column '"
                        + mapped.getValue() + "', which the table does not have (its columns: "
                        + List.of(frame.columns()) + ")");
            }
            columns.add(col("`" + mapped.getValue() + "`").as(mapped.getKey()));
        }
        for (String name : frame.columns()) {
            if (map.fieldToColumn().containsValue(name)) {
                continue;
            }
            if ((fields == null || fields.contains(name)) && !map.fieldToColumn().containsKey(name)) {
                columns.add(col("`" + name + "`"));
            } else {
                ignored.add(name);
            }
        }
        if (!ignored.isEmpty()) {
            org.slf4j.LoggerFactory.getLogger(CorpusReader.class).info("{}: not reading columns {} (the format's "
                    + "fields are {})", path, ignored, new java.util.TreeSet<>(fields));
        }
        if (columns.isEmpty()) {
            throw new IllegalArgumentException(path + " has none of the format's columns " + new java.util.TreeSet<>(
                    fields) + "; its columns are " + List.of(frame.columns()));
        }
        Dataset<Row> rows = frame.select(col("_metadata.file_path").as("source"),
                col("_metadata.row_index").as("row"), to_json(struct(columns.toArray(new Column[0]))).as("json"));
        return rows.javaRDD().map(row -> new RawRecord(row.getString(0), row.getLong(1), row.getString(2)));
    }
}
