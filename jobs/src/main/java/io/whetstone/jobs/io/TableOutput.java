package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A small table a job produces (a corpus, preference pairs) written as {@code <name>.jsonl} and/or
 * {@code <name>.parquet} in a directory: the JSONL file in one atomic write, the Parquet directory written
 * to a temporary path and renamed. Columns are the schema's fields; values are strings, numbers or booleans.
 */
public final class TableOutput {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TableOutput() {
    }

    /** Writes {@code rows} (values in schema order) under {@code dir}; returns the paths written (jsonl, parquet). */
    public static List<String> write(SparkSession spark, HadoopFiles files, Path dir, String name, StructType schema,
                                     List<Object[]> rows, boolean jsonl, boolean parquet) {
        List<String> written = new ArrayList<>();
        StructField[] fields = schema.fields();
        if (jsonl) {
            StringBuilder text = new StringBuilder();
            for (Object[] row : rows) {
                ObjectNode line = JSON.createObjectNode();
                for (int i = 0; i < fields.length; i++) {
                    line.set(fields[i].name(), JSON.valueToTree(row[i]));
                }
                text.append(line).append('\n');
            }
            Path target = new Path(dir, name + ".jsonl");
            files.writeBytes(target, text.toString().getBytes(StandardCharsets.UTF_8));
            written.add(target.toString());
        }
        if (parquet) {
            List<Row> table = new ArrayList<>(rows.size());
            for (Object[] row : rows) {
                table.add(RowFactory.create(row));
            }
            Path target = new Path(dir, name + ".parquet");
            Path temporary = new Path(dir, "." + name + ".parquet._tmp-" + UUID.randomUUID());
            // One task writes the file; the rows reach it as a broadcast, not inside the task (a tts table of
            // 26,000 rows made a 5 MB task, past Spark's recommended task size).
            JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Broadcast<List<Row>> shipped = context.broadcast(table);
            try {
                JavaRDD<Row> one = context.parallelize(List.of(0), 1).flatMap(i -> shipped.value().iterator());
                spark.createDataFrame(one, schema).write().parquet(temporary.toString());
            } finally {
                shipped.destroy(false);
            }
            files.publishDirectory(temporary, target);
            written.add(target.toString());
        }
        return written;
    }
}
