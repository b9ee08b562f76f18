package io.whetstone.jobs.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The job's SparkSession. Under spark-submit the master and resources come from the submit command; run
 * directly (submit/local, tests) it runs in local mode on {@code WHETSTONE_MASTER} (default
 * {@code local[*]}). Either way spark.task.cpus defaults to the cores of an executor (all local cores),
 * so a task owns its cores and ND4J's threads never oversubscribe them. Every executor picks the ND4J CPU build
 * its CPU runs and uses the GPU Spark assigned it, if any ({@link Nd4jSetupPlugin}).
 */
public final class SparkRuntime {

    private SparkRuntime() {
    }

    /** How often a running Spark job's progress is logged (after it has run this long). */
    static final int PROGRESS_SECONDS = 15;

    /** The active session, or a new one named {@code appName}, reporting its jobs' progress. */
    public static SparkSession session(String appName) {
        // A pipeline's stages run in one session, made by its first: its settings below are those every stage
        // would ask for, and asking again only logs Spark's "Using an existing Spark session" warning per stage.
        scala.Option<SparkSession> active = SparkSession.getDefaultSession();
        if (active.isDefined() && !active.get().sparkContext().isStopped()) {
            JobProgress.register(active.get().sparkContext(), PROGRESS_SECONDS);
            return active.get();
        }
        SparkConf conf = new SparkConf();
        SparkSession.Builder builder = SparkSession.builder().appName(appName);
        if (!conf.contains("spark.master")) {
            String master = System.getenv().getOrDefault("WHETSTONE_MASTER", "local[*]");
            builder.master(master);
            if (!conf.contains("spark.task.cpus")) {
                builder.config("spark.task.cpus", Integer.toString(localCores(master)));
            }
        } else if (!conf.contains("spark.task.cpus") && conf.contains("spark.executor.cores")) {
            builder.config("spark.task.cpus", conf.get("spark.executor.cores"));
        }
        builder.config("spark.driver.maxResultSize", conf.get("spark.driver.maxResultSize", "4g"));
        builder.config("spark.plugins", plugins(conf.get("spark.plugins", "")));
        // What whetstone broadcasts is float vectors (parameters, optimiser state, frozen weights), which LZ4 hardly
        // shrinks: compressing them only costs time on the driver and every executor (README "Scaling").
        builder.config("spark.broadcast.compress", conf.get("spark.broadcast.compress", "false"));
        SparkSession session = builder.getOrCreate();
        JobProgress.register(session.sparkContext(), PROGRESS_SECONDS);
        return session;
    }

    /** The user's plugins plus {@link Nd4jSetupPlugin}, which prepares ND4J on each executor. */
    static String plugins(String configured) {
        String ours = Nd4jSetupPlugin.class.getName();
        if (configured.isBlank()) {
            return ours;
        }
        return configured.contains(ours) ? configured : configured + "," + ours;
    }

    /** N of local[N] (all processors for local[*] or local). */
    static int localCores(String master) {
        String inside = master.replaceAll("^local\\[?", "").replaceAll("[,\\]].*$", "");
        if (inside.isEmpty() || inside.equals("*")) {
            return Runtime.getRuntime().availableProcessors();
        }
        return Integer.parseInt(inside);
    }

    /** Threads for each task: the configured count, or spark.task.cpus. */
    public static int threadsPerTask(SparkSession spark, int configured) {
        if (configured > 0) {
            return configured;
        }
        return Integer.parseInt(spark.sparkContext().getConf().get("spark.task.cpus", "1"));
    }
}
