package io.whetstone.jobs.config;

/**
 * Thrown by {@code debug.fail_after_round}, as a job killed at that point would stop, so tests of resume
 * can tell it from real failures.
 */
public final class InjectedFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public InjectedFailure(String message) {
        super(message);
    }
}
