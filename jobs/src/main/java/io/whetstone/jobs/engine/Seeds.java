package io.whetstone.jobs.engine;

/**
 * The one seed-mixing hash of the jobs: a seed and up to five keys (partition, epoch, prompt, sample,
 * iteration...) to a 64-bit seed, so that every random choice a task makes is a function of what it works on
 * and never of the order tasks ran in (a retried task draws the same). Each key has its own odd multiplier, then
 * SplitMix64's finaliser spreads the bits.
 */
public final class Seeds {

    /** Per-position multipliers: the seed's, then each key's. */
    private static final long[] MULTIPLIERS = {0x9E3779B97F4A7C15L, 0xC2B2AE3D27D4EB4FL, 0x165667B19E3779F9L,
        0x27D4EB2F165667C5L, 0x94D049BB133111EBL, 0x5851F42D4C957F2DL};

    private Seeds() {
    }

    /** The seed for {@code keys} under {@code seed}; at most five keys. */
    public static long mix(long seed, long... keys) {
        if (keys.length >= MULTIPLIERS.length) {
            throw new IllegalArgumentException("at most " + (MULTIPLIERS.length - 1) + " keys, got " + keys.length);
        }
        long h = seed * MULTIPLIERS[0];
        for (int i = 0; i < keys.length; i++) {
            h += keys[i] * MULTIPLIERS[i + 1];
        }
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ (h >>> 29);
    }
}
