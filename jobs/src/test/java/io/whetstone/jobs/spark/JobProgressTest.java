package io.whetstone.jobs.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class JobProgressTest {

    @Test
    void aLineSaysWhatHowFarAndWhenItEnds() {
        assertEquals("iteration 3 rollouts: 0/8 tasks, 0m20s, eta ?", JobProgress.line("iteration 3 rollouts", 0, 8,
                20));
        assertEquals("tokenize corpus: 2/8 tasks, 0m30s, eta 1m30s", JobProgress.line("tokenize corpus", 2, 8, 30));
        assertEquals("x: 8/8 tasks, 2m00s, eta 0m00s", JobProgress.line("x", 8, 8, 120));
    }
}
