package io.whetstone.jobs.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** GKD's on-policy rows: every packed prompt kept, the student's tokens trained, filler outside the mask, seeded. */
class OnPolicyBatchesTest {

    @Test
    void rowKeepsEachPromptAndTrainsOnlyTheSampledTokens() {
        List<OnPolicyBatches.Example> examples = List.of(new OnPolicyBatches.Example(new int[] {1, 5, 6}, 3),
                new OnPolicyBatches.Example(new int[] {1, 4}, 2));
        PackedSequence row = OnPolicyBatches.row(12, examples, List.of(new int[] {7, 2}, new int[] {8, 9, 9}), 2);
        assertArrayEquals(new int[] {1, 5, 6, 7, 2, 1, 4, 8, 9, 2, 2, 2}, row.ids());
        assertArrayEquals(new boolean[] {false, false, false, true, true, false, false, true, true, false, false,
            false}, row.targetMask(), "a sample past its example's completion length is cut there");
        assertEquals(2, row.examples());
        PackedSequence clipped = OnPolicyBatches.row(5, examples.subList(0, 1), List.of(new int[] {7, 8, 9}), 2);
        assertArrayEquals(new int[] {1, 5, 6, 7, 8}, clipped.ids());
        assertEquals(2, clipped.trainableTokens());
    }

    @Test
    void examplesAreThePromptAndCompletionRunsOfARow() {
        int[] ids = {1, 9, 10, 11, 12, 1, 13, 14, 15, 3, 3};
        boolean[] mask = {false, false, false, true, true, false, false, true, true, false, false};
        List<OnPolicyBatches.Example> examples = OnPolicyBatches.examples(new PackedSequence(ids, mask, 2));
        assertEquals(2, examples.size());
        assertArrayEquals(new int[] {1, 9, 10}, examples.get(0).prompt());
        assertEquals(2, examples.get(0).budget(), "its completion's length");
        assertArrayEquals(new int[] {1, 13}, examples.get(1).prompt());
        assertEquals(4, examples.get(1).budget(), "the last example may sample on into the padding");
        assertTrue(OnPolicyBatches.examples(new PackedSequence(new int[] {1, 2, 3}, new boolean[3], 1)).isEmpty());
    }

    /** Every packed example is continued; a row's first example samples what a row holding only it samples. */
    @Test
    void everyPackedExampleIsContinuedByTheStudent() {
        ModelConfig config = ModelConfig.llama(32, 16, 1, 2, 1, 24, 16);
        try (Transformer student = new Transformer(config, new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1))) {
            student.initialize(5);
            int[] ids = {1, 9, 10, 11, 12, 13, 1, 14, 15, 16, 17, 3, 3, 3};
            boolean[] mask = {false, false, false, true, true, true, false, false, true, true, true, false, false,
                false};
            PackedSequence packed = new PackedSequence(ids, mask, 2);
            PackedSequence sampled = OnPolicyBatches.sample(student, List.of(packed), 31, 7, 3, 1, 0).get(0);
            assertEquals(ids.length, sampled.ids().length);
            assertEquals(2, OnPolicyBatches.examples(sampled).size(), "both examples kept: " + java.util.Arrays.toString(
                    sampled.ids()));
            assertArrayEquals(new int[] {1, 9, 10}, java.util.Arrays.copyOf(sampled.ids(), 3));
            int secondPrompt = 3 + OnPolicyBatches.examples(sampled).get(0).budget();
            assertArrayEquals(new int[] {1, 14}, java.util.Arrays.copyOfRange(sampled.ids(), secondPrompt,
                    secondPrompt + 2));
            PackedSequence alone = new PackedSequence(java.util.Arrays.copyOf(ids, 6), java.util.Arrays.copyOf(mask, 6),
                    1);
            PackedSequence first = OnPolicyBatches.sample(student, List.of(alone), 31, 7, 3, 1, 0).get(0);
            assertArrayEquals(java.util.Arrays.copyOf(first.ids(), secondPrompt),
                    java.util.Arrays.copyOf(sampled.ids(), secondPrompt));
        }
    }

    @Test
    void theOnPolicyFractionOfStepsIsSeededAndAboutRight() {
        int on = 0;
        for (int step = 0; step < 4000; step++) {
            boolean first = OnPolicyBatches.onPolicy(3, step / 16, step % 16, 1, 0.25);
            assertEquals(first, OnPolicyBatches.onPolicy(3, step / 16, step % 16, 1, 0.25));
            on += first ? 1 : 0;
        }
        assertTrue(on > 900 && on < 1100, "about a quarter: " + on);
        assertTrue(!OnPolicyBatches.onPolicy(3, 1, 1, 1, 0.0));
    }

    @Test
    void studentSamplesAreAPureFunctionOfTheirSeedsAndStartAtTheFirstTrainedPosition() {
        ModelConfig config = ModelConfig.llama(32, 16, 1, 2, 1, 24, 16);
        try (Transformer student = new Transformer(config, new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1))) {
            student.initialize(4);
            int[] ids = {1, 9, 10, 11, 12, 13, 3, 3, 3, 3};
            boolean[] mask = {false, false, false, true, true, true, false, false, false, false};
            List<PackedSequence> rows = List.of(new PackedSequence(ids, mask, 1), new PackedSequence(ids, mask, 1));
            List<PackedSequence> a = OnPolicyBatches.sample(student, rows, 2, 7, 3, 1, 0);
            List<PackedSequence> b = OnPolicyBatches.sample(student, rows, 2, 7, 3, 1, 0);
            assertEquals(a, b);
            for (PackedSequence sampled : a) {
                assertEquals(10, sampled.ids().length);
                assertArrayEquals(new int[] {1, 9, 10}, java.util.Arrays.copyOf(sampled.ids(), 3));
                assertTrue(sampled.targetMask()[3], "the first sampled token is trained");
                assertTrue(!sampled.targetMask()[2]);
            }
            assertTrue(!java.util.Arrays.equals(a.get(0).ids(), a.get(1).ids()), "rows have their own seeds");
        }
    }
}
