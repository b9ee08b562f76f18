package io.whetstone.datasets.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.records.RecordError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens to invalid records, for every corpus reader: strict mode fails with the first errors (file,
 * line, field, reason) and the count before any expensive work; lenient mode writes each rejected record with
 * its reason under the rejects directory and says how many there were. Nothing is dropped silently.
 */
public final class Rejects {

    private static final Logger LOG = LoggerFactory.getLogger(Rejects.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SHOWN_ERRORS = 10;

    private Rejects() {
    }

    /**
     * Applies {@code validation} to {@code errors} (out of {@code records} read from {@code path}); returns
     * the number rejected.
     */
    public static long enforce(JavaSparkContext context, JavaRDD<RecordError> errors, long records, String path,
                               CorpusSpec.Validation validation, String rejectsDir) {
        long rejected = errors.count();
        if (rejected == 0) {
            return 0;
        }
        if (validation == CorpusSpec.Validation.STRICT) {
            List<RecordError> first = errors.takeOrdered(SHOWN_ERRORS, RecordError.BY_LOCATION);
            throw new DataValidationException(path, first, rejected);
        }
        write(context, errors, rejectsDir);
        LOG.warn("{} of {} records of {} were invalid and skipped (validation: lenient); see {}", rejected, records,
                path, rejectsDir);
        return rejected;
    }

    /** Writes {@code errors} as JSON lines (source, line, field, reason, record) in file and line order. */
    static void write(JavaSparkContext context, JavaRDD<RecordError> errors, String rejectsDir) {
        Path target = new Path(rejectsDir);
        try {
            FileSystem fs = target.getFileSystem(context.hadoopConfiguration());
            fs.delete(target, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear the rejects directory " + rejectsDir, e);
        }
        context.setJobDescription("whetstone: write rejected records to " + rejectsDir);
        errors.sortBy(error -> error.source() + ":" + String.format("%012d", error.line()), true, 1)
                .map(error -> JSON.writeValueAsString(Map.of("source", error.source(), "line", error.line(), "field",
                        error.field(), "reason", error.reason(), "record", error.raw() == null ? "" : error.raw())))
                .saveAsTextFile(rejectsDir);
    }
}
