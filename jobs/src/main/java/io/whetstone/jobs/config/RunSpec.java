package io.whetstone.jobs.config;

/**
 * Where a run writes: {@code dir} (any Hadoop path) holds metrics, checkpoints, rejects and the
 * resolved config.
 */
public record RunSpec(String dir) {

    public RunSpec {
        Checks.require(dir != null && !dir.isBlank(), "run.dir must be set");
    }
}
