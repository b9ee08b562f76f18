package io.whetstone.jobs.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.jobs.rollout.SampleRecord;
import java.util.List;
import org.junit.jupiter.api.Test;

class PairBuilderTest {

    private static SampleRecord sample(long prompt, int index, String text, double reward) {
        return new SampleRecord(prompt, "p" + prompt, index, "prompt " + prompt, text, reward, null, text.length(),
                "stop");
    }

    private static final List<SampleRecord> SAMPLES = List.of(
            sample(0, 0, "a", 0.0), sample(0, 1, "b", 1.0), sample(0, 2, "c", 1.0), sample(0, 3, "d", 0.0),
            sample(0, 4, "b", 1.0), // a repeat of sample 1
            new SampleRecord(0, "p0", 5, "prompt 0", "cut off", 2.0, null, 7, "length"), // unfinished
            new SampleRecord(0, "p0", 6, "prompt 0", "broken", Double.NaN, "verifier: timeout", 6, "stop"),
            sample(1, 0, "x", 0.5), sample(1, 1, "y", 0.7), // gap 0.2 < min_gap
            sample(2, 0, "u", 1.0), sample(2, 1, "v", 1.0), // no gap at all
            sample(3, 0, " ", 1.0), sample(3, 1, "w", 0.0)); // a blank completion is never paired

    @Test
    void bestAgainstWorstTakesTheExtremesWithTheLowestSampleIndexOnTies() {
        PairBuilder.Result result = new PairBuilder(PairBuilder.Mode.BEST_WORST, 0.5, 1, 1.0).build(SAMPLES);
        assertEquals(1, result.pairs().size());
        PairBuilder.Pair pair = result.pairs().get(0);
        assertEquals("b", pair.chosen().completion());
        assertEquals("a", pair.rejected().completion());
        assertEquals(1.0, pair.gap());
        assertEquals(4, result.stats().get("prompts"));
        assertEquals(13, result.stats().get("samples"));
        assertEquals(1L, result.stats().get("empty_samples"));
        assertEquals(1L, result.stats().get("failed_samples"));
        assertEquals(1L, result.stats().get("unfinished_samples"));
        assertEquals(1L, result.stats().get("repeated_samples"));
        assertEquals(1L, result.stats().get("prompts_with_data"));
        assertEquals(1.0, result.stats().get("mean_reward_gap"));
    }

    @Test
    void allPairsTakesEveryGapLargestFirstUpToTheLimit() {
        PairBuilder.Result all = new PairBuilder(PairBuilder.Mode.ALL_PAIRS, 0.5, 0, 1.0).build(SAMPLES);
        // prompt 0: {b, c} x {a, d}
        assertEquals(4, all.pairs().size());
        assertEquals(List.of("b>a", "b>d", "c>a", "c>d"), all.pairs().stream()
                .map(p -> p.chosen().completion() + ">" + p.rejected().completion()).toList());
        PairBuilder.Result limited = new PairBuilder(PairBuilder.Mode.ALL_PAIRS, 0.5, 3, 1.0).build(SAMPLES);
        assertEquals(3, limited.pairs().size());
        for (PairBuilder.Pair pair : all.pairs()) {
            assertTrue(pair.chosen().reward() - pair.rejected().reward() >= 0.5);
            assertFalse(pair.chosen().completion().equals(pair.rejected().completion()));
        }
    }

    @Test
    void unpairedLabelsEachDistinctFinishedCompletion() {
        PairBuilder.Result result = new PairBuilder(PairBuilder.Mode.UNPAIRED, 0.5, 0, 1.0).build(SAMPLES);
        assertEquals(9, result.pairs().size()); // a b c d | x y | u v | w
        assertEquals(4L, result.stats().get("desirable"));
        for (PairBuilder.Pair pair : result.pairs()) {
            assertNull(pair.rejected());
            assertEquals(pair.chosen().reward() >= 1.0, pair.desirable());
        }
        assertThrows(IllegalArgumentException.class, () -> new PairBuilder(PairBuilder.Mode.BEST_WORST, 0, 1, 1));
    }

    @Test
    void unfinishedCompletionsJoinOnlyWhenAskedFor() {
        PairBuilder.Result kept = new PairBuilder(PairBuilder.Mode.BEST_WORST, 0.5, 1, 1.0, true).build(SAMPLES);
        assertEquals("cut off", kept.pairs().get(0).chosen().completion()); // reward 2.0, the best
        assertEquals(0L, kept.stats().get("unfinished_samples"));
    }
}
