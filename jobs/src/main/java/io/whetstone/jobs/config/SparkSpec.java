package io.whetstone.jobs.config;

/**
 * Distribution. {@code partitions}: data shards and parallel workers per round. {@code threads_per_task}:
 * ND4J and kernel threads of each task, also set as spark.task.cpus so that a task never shares its
 * cores (0: all cores of an executor, i.e. one task per executor at a time).
 */
public record SparkSpec(int partitions, int threadsPerTask) {

    public SparkSpec {
        Checks.require(partitions >= 1, "spark.partitions must be >= 1, got " + partitions);
        Checks.require(threadsPerTask >= 0, "spark.threads_per_task must be >= 0 (0: all executor cores), got "
                + threadsPerTask);
    }
}
