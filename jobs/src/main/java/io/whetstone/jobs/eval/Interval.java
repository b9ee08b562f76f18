package io.whetstone.jobs.eval;

/**
 * The Wilson score interval of a proportion at 95%: unlike the normal approximation it stays inside [0, 1]
 * and is not empty at 0 of n or n of n.
 *
 * @param low lower bound
 * @param high upper bound
 */
public record Interval(double low, double high) {

    private static final double Z = 1.959963984540054;

    /** The interval of {@code successes} of {@code total}. */
    public static Interval wilson(long successes, long total) {
        if (total <= 0) {
            throw new IllegalArgumentException("an interval needs at least one trial, got " + total);
        }
        double n = total;
        double p = successes / n;
        double z2 = Z * Z;
        double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        double half = Z / (1 + z2 / n) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return new Interval(Math.max(0, centre - half), Math.min(1, centre + half));
    }

    /** Whether the two intervals share no point. */
    public boolean disjointFrom(Interval other) {
        return high < other.low || other.high < low;
    }
}
