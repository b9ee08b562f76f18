package io.whetstone.jobs.config;

/**
 * Checkpoints: written every {@code every_rounds} rounds and at the end, the last {@code keep_last} kept.
 * {@code resume}: {@code auto} (newest complete checkpoint of the run directory, if any), {@code none}, or
 * a checkpoint directory.
 */
public record CheckpointSpec(int everyRounds, int keepLast, String resume) {

    public CheckpointSpec {
        Checks.require(everyRounds >= 1, "checkpoint.every_rounds must be >= 1, got " + everyRounds);
        Checks.require(keepLast >= 1, "checkpoint.keep_last must be >= 1, got " + keepLast);
        Checks.require(resume != null && !resume.isBlank(), "checkpoint.resume must be auto, none or a directory");
    }
}
