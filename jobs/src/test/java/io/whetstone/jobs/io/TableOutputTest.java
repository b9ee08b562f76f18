package io.whetstone.jobs.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.whetstone.jobs.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job's small table: the same rows, in order, in its JSONL file and its one-file Parquet directory. */
class TableOutputTest {

    @Test
    void writesTheRowsInOrderToJsonlAndParquet(@TempDir Path dir) throws IOException {
        StructType schema = new StructType().add("index", DataTypes.IntegerType, false)
                .add("text", DataTypes.StringType, true).add("score", DataTypes.DoubleType, false)
                .add("correct", DataTypes.BooleanType, false);
        List<Object[]> rows = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            rows.add(new Object[] {i, i % 7 == 0 ? null : "row \"" + i + "\" ünïcode", i * 0.25, i % 2 == 0});
        }
        SparkSession spark = SparkTestSession.get();
        List<String> written = TableOutput.write(spark, new HadoopFiles(new Configuration()),
                new org.apache.hadoop.fs.Path(dir.toUri()), "table", schema, rows, true, true);
        assertEquals(2, written.size());

        List<String> lines = Files.readAllLines(dir.resolve("table.jsonl"));
        assertEquals(rows.size(), lines.size());
        assertEquals("{\"index\":7,\"text\":null,\"score\":1.75,\"correct\":false}", lines.get(7));

        Path parquet = dir.resolve("table.parquet");
        assertEquals(1, Files.list(parquet).filter(p -> p.getFileName().toString().endsWith(".parquet")).count(),
                "one file");
        List<Row> read = spark.read().parquet(parquet.toString()).collectAsList();
        assertEquals(rows.size(), read.size());
        for (int i = 0; i < rows.size(); i++) {
            Row row = read.get(i);
            assertEquals(i, row.getInt(0), "file order is row order");
            assertEquals(rows.get(i)[1], row.get(1));
            assertEquals((double) rows.get(i)[2], row.getDouble(2));
            assertEquals(rows.get(i)[3], row.getBoolean(3));
        }
    }
}
