package io.whetstone.jobs;

import org.apache.spark.sql.SparkSession;

/**
 * One SparkSession for every test of the JVM (starting one costs 10-13 s): local[2], one core per
 * task so that two partitions run at once, no UI.
 */
public final class SparkTestSession {

    private static SparkSession session;

    private SparkTestSession() {
    }

    public static synchronized SparkSession get() {
        if (session == null) {
            session = SparkSession.builder().master("local[2]").appName("whetstone-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.task.cpus", "1")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.driver.host", "127.0.0.1")
                    .getOrCreate();
        }
        return session;
    }
}
