package io.whetstone.jobs.eval;

import io.whetstone.datasets.tasks.AnswerFormat;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.datasets.tasks.Verifier;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.rollout.PromptReader;
import io.whetstone.jobs.rollout.PromptRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;

/**
 * Problems with reference answers from any prompt file the RL jobs read ({@link PromptReader}: {@code question} and
 * {@code answer}, templated as SFT trains; or {@code prompt} used as is and {@code reference}; JSONL or Parquet),
 * scored by their final answers in an {@link AnswerFormat}. A record without a reference answer is an error naming
 * it, before any decoding.
 */
public final class PromptProblems {

    private PromptProblems() {
    }

    /** The problems of {@code path}, in file order, their prompts checked against {@code maxPromptTokens}. */
    public static List<TaskEvaluation.Problem> read(SparkSession spark, String path, Tokenizer tokenizer,
                                                    int maxPromptTokens, AnswerFormat format) {
        JavaRDD<PromptRecord> records = PromptReader.read(spark, path, "auto", true, tokenizer, maxPromptTokens);
        List<PromptRecord> list;
        try {
            list = new ArrayList<>(records.collect());
        } finally {
            records.unpersist(false);
        }
        list.sort(Comparator.comparingLong(PromptRecord::index));
        List<TaskEvaluation.Problem> problems = new ArrayList<>();
        for (PromptRecord record : list) {
            Optional<String> answer = format.reference(record.reference());
            if (answer.isEmpty()) {
                throw new IllegalArgumentException(path + ": record " + record.id() + " has no reference answer "
                        + "(an 'answer' with a question, or a 'reference' with a prompt)");
            }
            problems.add(new TaskEvaluation.Problem(new TaskExample(record.id(), record.text(), record.reference(),
                    answer.get()), record.text()));
        }
        if (problems.isEmpty()) {
            throw new IllegalArgumentException(path + ": no problems in it");
        }
        return problems;
    }

    /** Right when the completion's final answer, read in {@code format}, is the reference's. */
    public static Verifier verifier(AnswerFormat format) {
        return (example, completion) -> format.extract(completion).map(example.answer()::equals).orElse(false);
    }
}
