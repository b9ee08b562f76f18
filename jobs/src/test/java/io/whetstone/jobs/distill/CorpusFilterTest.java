package io.whetstone.jobs.distill;

import io.whetstone.jobs.rollout.SampleRecord;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Rejection sampling's bookkeeping on hand-made samples: what is kept, in which order, and the counts. */
class CorpusFilterTest {

    private static SampleRecord sample(long index, int sample, String completion, double reward, String failure,
                                       String finish) {
        return new SampleRecord(index, "p" + index, sample, "prompt " + index, completion, reward, failure,
                completion.length(), finish);
    }

    @Test
    void keepsVerifiedDistinctRationalesInSampleOrderWithinTheLimit() {
        List<SampleRecord> samples = List.of(
                sample(1, 2, "c", 1, null, "stop"),
                sample(1, 0, "a  b", 1, null, "stop"),
                sample(1, 1, "a b", 1, null, "stop"),        // a repeat, whitespace aside
                sample(1, 4, " \n", 1, null, "stop"),       // empty: verified, never kept
                sample(1, 3, "d", 1, null, "stop"),          // over the limit of 2
                sample(0, 0, "x", 0, null, "length"),        // not verified
                sample(0, 1, "y", Double.NaN, "timeout", "stop"),
                sample(2, 0, "z", 0.5, null, "stop"));       // below min_reward
        CorpusFilter.Result result = new CorpusFilter(1.0, 2, true).apply(samples);
        assertEquals(List.of("a  b", "c"), result.accepted().stream().map(SampleRecord::completion).toList());
        Map<String, Object> stats = result.stats();
        assertEquals(3, stats.get("prompts"));
        assertEquals(8L, ((Number) stats.get("samples")).longValue());
        assertEquals(5L, stats.get("verified"));
        assertEquals(5.0 / 7, (double) stats.get("teacher_accuracy"), 1e-12); // failures are not attempts
        assertEquals(1L, stats.get("empty_dropped"));
        assertEquals(1L, stats.get("duplicates_dropped"));
        assertEquals(1L, stats.get("over_limit_dropped"));
        assertEquals(1L, stats.get("verifier_failures"));
        assertEquals(1L, stats.get("truncated_samples"));
        assertEquals(1L, stats.get("prompts_with_a_verified_sample"));
        assertEquals(Map.of("0", 2L, "2", 1L), stats.get("prompts_by_accepted_count"));
        assertEquals(List.of(0L, 1L, 2L), result.perPrompt().stream().map(m -> (Long) m.get("index")).toList());
    }

    @Test
    void withoutDedupeOrLimitEveryVerifiedRationaleIsKept() {
        List<SampleRecord> samples = List.of(sample(0, 0, "a", 1, null, "stop"), sample(0, 1, "a", 1, null, "stop"),
                sample(0, 2, "b", 1, null, "stop"));
        assertEquals(3, new CorpusFilter(1.0, 0, false).apply(samples).accepted().size());
    }
}
