package io.whetstone.jobs.config;

/**
 * Failure injection for tests of resume: with {@code fail_after_round} = r > 0 the job throws right after
 * round r completes (and after its checkpoint, if one is due), as a killed job would stop.
 */
public record DebugSpec(int failAfterRound) {
}
