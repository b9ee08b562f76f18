package io.whetstone.jobs.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.tasks.AnswerFormat;
import io.whetstone.datasets.tasks.Verifier;
import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.jobs.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** eval-task's problem files: GSM8K records and prompt/reference records, their answers, and their errors. */
class PromptProblemsTest {

    @Test
    void readsBothRecordKindsWithTheirAnswersAndScoresByTheFormat(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("p.jsonl"), String.join("\n",
                "{\"question\": \"What is 2 + 3?\", \"answer\": \"2+3=5. #### 5\"}",
                "{\"id\": \"x\", \"prompt\": \"Q: 1,000 + 200?\\nA:\", \"reference\": \"1,200\"}") + "\n");
        List<TaskEvaluation.Problem> problems = PromptProblems.read(SparkTestSession.get(), file.toUri().toString(),
                new ByteTokenizer(), 200, AnswerFormat.GSM8K);
        assertEquals(2, problems.size());
        assertEquals(new ChatTemplateSpec().questionPrompt("What is 2 + 3?"), problems.get(0).prompt(),
                "a question is asked through the chat template, as SFT trains");
        assertEquals("5", problems.get(0).example().answer());
        assertEquals("Q: 1,000 + 200?\nA:", problems.get(1).prompt(), "a prompt is used as it is");
        assertEquals("x", problems.get(1).example().id());
        assertEquals("1200", problems.get(1).example().answer(), "a bare reference is the answer, normalised");
        Verifier verifier = PromptProblems.verifier(AnswerFormat.GSM8K);
        assertTrue(verifier.correct(problems.get(1).example(), "so it is #### 1,200.0"));
        assertFalse(verifier.correct(problems.get(1).example(), "#### 1201"));
        assertFalse(verifier.correct(problems.get(0).example(), "no answer stated"));
    }

    @Test
    void aRecordWithoutAReferenceIsNamed(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("p.jsonl"), "{\"id\": \"q7\", \"prompt\": \"hello\"}\n");
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> PromptProblems.read(
                SparkTestSession.get(), file.toUri().toString(), new ByteTokenizer(), 200, AnswerFormat.GSM8K));
        assertTrue(error.getMessage().contains("record q7 has no reference answer"), error.getMessage());
    }
}
