package io.whetstone.jobs.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.tasks.FinalAnswer;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.datasets.tasks.Verifier;
import io.whetstone.jobs.io.HadoopFiles;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.fs.Path;

/**
 * Problems with references in GSM8K's format ({@code {"question": ..., "answer": "... #### 42"}}, one per line,
 * as the built-in task's {@code task-data} writes too) read for evaluation, and the verifier that scores them: the
 * completion's {@code ####} number equals the reference's after normalisation ({@code 1,200.50} is {@code 1200.5}).
 * A line that is not such a record is an error naming the file, line and field.
 */
public final class ProblemFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ProblemFile() {
    }

    /** The problems in {@code path} (a file), in order; ids are the {@code id} field or the line number. */
    public static List<TaskExample> read(HadoopFiles files, String path) {
        Path file = new Path(path);
        if (!files.exists(file)) {
            throw new IllegalArgumentException("no such problem file: " + path);
        }
        String[] lines = new String(files.readBytes(file), StandardCharsets.UTF_8).split("\n");
        List<TaskExample> problems = new ArrayList<>();
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            String where = path + ":" + (i + 1);
            JsonNode record;
            try {
                record = JSON.readTree(lines[i]);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(where + ": not valid JSON: " + e.getOriginalMessage());
            }
            for (String field : List.of("question", "answer")) {
                if (record == null || !record.path(field).isTextual() || record.path(field).asText().isBlank()) {
                    throw new IllegalArgumentException(where + ": field '" + field + "' must be a non-empty string");
                }
            }
            String solution = record.get("answer").asText();
            Optional<String> answer = FinalAnswer.gsm8kNumber(solution).or(() -> FinalAnswer.marked(solution));
            if (answer.isEmpty()) {
                throw new IllegalArgumentException(where + ": field 'answer' has no final answer after '####'");
            }
            String id = record.path("id").isValueNode() && !record.path("id").isNull() ? record.get("id").asText()
                    : Integer.toString(i + 1);
            problems.add(new TaskExample(id, record.get("question").asText(), solution, answer.get()));
        }
        if (problems.isEmpty()) {
            throw new IllegalArgumentException(path + ": no problems in the file");
        }
        return problems;
    }

    /** Right when the completion's {@code ####} answer, as a number if it is one, equals the reference's. */
    public static Verifier verifier() {
        return (example, completion) -> {
            Optional<String> given = FinalAnswer.gsm8kNumber(completion).or(() -> FinalAnswer.marked(completion));
            return given.isPresent() && given.get().equals(example.answer());
        };
    }
}
