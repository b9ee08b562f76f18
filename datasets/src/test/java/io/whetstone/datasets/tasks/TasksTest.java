package io.whetstone.datasets.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.Assets;
import java.io.IOException;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TasksTest {

    @Test
    void arithmeticIsDeterministicDisjointAndSolvedByItsReferences() {
        ArithmeticTask task = new ArithmeticTask(1, 4, true, 3);
        List<TaskExample> train = task.generate(ArithmeticTask.Split.TRAIN, 2000);
        List<TaskExample> test = task.generate(ArithmeticTask.Split.TEST, 200);
        assertEquals(train, new ArithmeticTask(1, 4, true, 3).generate(ArithmeticTask.Split.TRAIN, 2000));
        Set<String> trainIds = new HashSet<>();
        train.forEach(example -> trainIds.add(example.id()));
        assertEquals(2000, trainIds.size());
        test.forEach(example -> assertFalse(trainIds.contains(example.id()), example.id()));
        Verifier verifier = ArithmeticTask.verifier();
        for (TaskExample example : train) {
            String[] parts = example.id().split("[+-]");
            long a = Long.parseLong(parts[0]);
            long b = Long.parseLong(parts[1]);
            long expected = example.id().contains("+") ? a + b : a - b;
            assertEquals(Long.toString(expected), example.answer(), example.id());
            assertTrue(verifier.correct(example, example.solution()), example.solution());
        }
    }

    @Test
    void carriesAreWrittenOut() {
        TaskExample example = new ArithmeticTask(3, 3, false, 1).generate(ArithmeticTask.Split.TRAIN, 50).stream()
                .filter(e -> e.id().equals(e.id())).findFirst().orElseThrow();
        assertTrue(example.solution().contains(", write "), example.solution());
        assertTrue(example.solution().endsWith("#### " + example.answer()), example.solution());
    }

    @Test
    void verifierRejectsWrongOrMissingAnswers() {
        TaskExample example = new TaskExample("1+1", "What is 1 + 1?", "1+1=2, write 2. #### 2", "2");
        Verifier verifier = ArithmeticTask.verifier();
        assertFalse(verifier.correct(example, "1+1=2, write 2. #### 3"));
        assertFalse(verifier.correct(example, "the answer is 2"));
        assertTrue(verifier.correct(example, "#### 2\n"));
    }

    @Test
    void gsm8kAnswersAreExtractedFromEveryRealReference() throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(Assets.path("gsm8k_test.jsonl"));
        assertEquals(1319, lines.size());
        for (String line : lines) {
            JsonNode node = json.readTree(line);
            Optional<String> answer = FinalAnswer.gsm8kNumber(node.get("answer").asText());
            assertTrue(answer.isPresent(), line);
            assertTrue(answer.get().matches("-?[0-9]+(\\.[0-9]+)?"), answer.get());
        }
        assertEquals(Optional.of("1200.5"), FinalAnswer.gsm8kNumber("so #### $1,200.50"));
        assertEquals(Optional.of("18"), FinalAnswer.lastNumber("She makes 9 * 2 = 18 dollars."));
        assertEquals(Optional.empty(), FinalAnswer.gsm8kNumber("no marker 42"));
    }
}
