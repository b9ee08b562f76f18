package io.whetstone.jobs.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.jobs.io.HadoopFiles;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.fs.Path;

/**
 * {@code results.jsonl} of an evaluation command's {@code --output} directory: one JSON object per model scored
 * ({@code model} and the command's numbers; {@code correct} and {@code total} where it counts right answers), which
 * the run report shows with its 95% interval.
 */
public final class ResultsFile {

    /** The file's name. */
    public static final String FILE = "results.jsonl";

    private ResultsFile() {
    }

    /** Writes {@code results} to {@code <dir>/results.jsonl}, replacing what was there. */
    public static void write(HadoopFiles files, String dir, List<ObjectNode> results) {
        StringBuilder text = new StringBuilder();
        results.forEach(result -> text.append(result).append('\n'));
        files.writeBytes(new Path(dir, FILE), text.toString().getBytes(StandardCharsets.UTF_8));
    }
}
