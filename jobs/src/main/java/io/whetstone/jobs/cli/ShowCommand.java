package io.whetstone.jobs.cli;

import io.whetstone.datasets.spark.CorpusReader;
import io.whetstone.jobs.spark.SparkRuntime;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone show}: a run's outputs as text, without Spark code or a notebook. */
@Command(name = "show", mixinStandardHelpOptions = true,
        description = {"Print a run's rollouts, completions or tables as readable text.",
                "Reads any Whetstone output on any Hadoop path: RL rollouts (rollouts/iteration-N, Parquet),",
                "generate's completions, tts's table, preference pairs, rejects (JSONL or Parquet, told apart by",
                "content). Each record is printed as field: value, with long text on its own indented lines."})
public final class ShowCommand implements Callable<Integer> {

    @Parameters(paramLabel = "path", description = "a file or directory written by a Whetstone job")
    String path;

    @Option(names = "--limit", defaultValue = "10", description = "records to print (default: ${DEFAULT-VALUE})")
    int limit;

    @Option(names = "--fields", split = ",", description = "only these fields, in this order (default: all)")
    List<String> fields = new ArrayList<>();

    @Option(names = "--where", description = "a Spark SQL condition, e.g. \"reward < 0.5\" or \"correct = false\"")
    String where;

    @Override
    public Integer call() {
        SparkSession spark = SparkRuntime.session("whetstone show");
        boolean parquet = CorpusReader.isParquet(spark.sparkContext().hadoopConfiguration(), path, "auto");
        Dataset<Row> rows = parquet ? spark.read().parquet(path) : spark.read().json(path);
        try {
            if (where != null && !where.isBlank()) {
                rows = rows.where(where);
            }
            if (!fields.isEmpty()) {
                rows = rows.selectExpr(fields.stream().map(f -> "`" + f + "`").toArray(String[]::new));
            }
        } catch (Exception e) {
            // Spark throws AnalysisException (checked, undeclared from Scala) for an unknown field or bad SQL
            if (!(e instanceof org.apache.spark.sql.AnalysisException analysis)) {
                throw e;
            }
            throw new IllegalArgumentException("show " + path + ": " + analysis.getSimpleMessage()
                    + " (its fields are " + String.join(", ", rows.columns()) + ")");
        }
        long total = rows.count();
        print(rows.limit(limit).collectAsList(), rows.schema().fields(), System.out);
        System.out.println(String.format("(%d of %d records%s)", Math.min(limit, total), total,
                where == null ? "" : " where " + where));
        return 0;
    }

    /** Each row as "field: value"; multi-line or long text indented on the lines below its field. */
    static void print(List<Row> rows, StructField[] schema, PrintStream out) {
        int index = 0;
        for (Row row : rows) {
            out.println("--- record " + (++index) + " ---");
            for (int i = 0; i < schema.length; i++) {
                Object value = row.get(i);
                String text = value == null ? "null" : value instanceof scala.collection.Seq<?> seq
                        ? seq.mkString("[", ", ", "]") : value.toString();
                if (text.contains("\n") || text.length() > 100) {
                    out.println(schema[i].name() + ":");
                    for (String line : text.split("\n", -1)) {
                        out.println("    " + line);
                    }
                } else {
                    out.println(schema[i].name() + ": " + text);
                }
            }
        }
    }
}
