package io.whetstone.datasets.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class StepsTest {

    private static final String SOLUTION =
            "7+6=13, write 3 carry 1. 5+8+1=14, write 4 carry 1. 4+3+1=8, write 8. #### 843";

    @Test
    void theBuiltInTasksStepsAreItsCarryLinesThenTheAnswer() {
        List<String> steps = Steps.split(SOLUTION, ". ");
        assertEquals(List.of("7+6=13, write 3 carry 1. ", "5+8+1=14, write 4 carry 1. ", "4+3+1=8, write 8. ",
                "#### 843"), steps);
        assertEquals(SOLUTION, String.join("", steps), "the steps concatenate back to the text");
        assertEquals(List.of("a\n\n", "b\n", "c"), Steps.split("a\n\nb\nc", "\n"), "blank lines join the step");
    }

    @Test
    void aStepIsRightUntilTheFirstMistake() {
        List<String> reference = Steps.split(SOLUTION, ". ");
        List<String> wrong = Steps.split("7+6=13, write 3 carry 1. 5+8+1=15, write 5 carry 1. 4+3+1=8, write 8. "
                + "#### 853", ". ");
        boolean[] labels = Steps.againstReference(wrong, reference);
        assertArrayEquals(new boolean[] {true, false, false, false}, labels, "the third line is copied right but "
                + "follows a mistake");
        assertEquals(1, Steps.firstError(labels));
        assertEquals(-1, Steps.firstError(Steps.againstReference(reference, reference)));
        assertArrayEquals(new boolean[] {true, true, false}, Steps.againstReference(
                List.of(reference.get(0), reference.get(1), "#### 843"), reference), "a skipped line is a mistake");
    }
}
