package io.whetstone.jobs.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The shared hash gives exactly the seeds of the four hashes it replaced (written out here as they were), so
 * runs, resumes and the fault tests' hashes are unchanged.
 */
class SeedsTest {

    private static long finish(long h) {
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ (h >>> 29);
    }

    @Test
    void equalsTheHashesItReplaced() {
        SplittableRandom random = new SplittableRandom(5);
        for (int trial = 0; trial < 1000; trial++) {
            long seed = random.nextLong();
            long a = random.nextLong();
            long b = random.nextInt();
            long c = random.nextLong(1_000_000);
            int round = random.nextInt(10_000);
            int step = random.nextInt(100);
            int partition = random.nextInt(64);
            int row = random.nextInt(-1, 512);
            // ShardSampler (seed, partition, epoch) and GenerateJob (seed, key, sample)
            assertEquals(finish(seed * 0x9E3779B97F4A7C15L + a * 0xC2B2AE3D27D4EB4FL + b * 0x165667B19E3779F9L),
                    Seeds.mix(seed, a, b));
            // SamplingSpec (seed, prompt, sample, iteration)
            assertEquals(finish(seed * 0x9E3779B97F4A7C15L + a * 0xC2B2AE3D27D4EB4FL + b * 0x165667B19E3779F9L
                    + c * 0x27D4EB2F165667C5L), Seeds.mix(seed, a, b, c));
            // OnPolicyBatches (seed, round, step, partition, row) with its constant
            assertEquals(finish(seed * 0x9E3779B97F4A7C15L + round * 0xC2B2AE3D27D4EB4FL + step * 0x165667B19E3779F9L
                    + partition * 0x27D4EB2F165667C5L + row * 0x94D049BB133111EBL + 0x5851F42D4C957F2DL),
                    Seeds.mix(seed, round, step, partition, row, 1));
        }
    }

    @Test
    void keysInOtherPositionsGiveOtherSeeds() {
        assertNotEquals(Seeds.mix(1, 2, 3), Seeds.mix(1, 3, 2));
        assertNotEquals(Seeds.mix(1, 2), Seeds.mix(2, 1));
        assertThrows(IllegalArgumentException.class, () -> Seeds.mix(1, 1, 2, 3, 4, 5, 6));
    }
}
