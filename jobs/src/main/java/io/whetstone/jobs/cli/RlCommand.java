package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.RlConfig;
import io.whetstone.jobs.rl.RlJob;
import io.whetstone.jobs.rl.RlResult;
import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The shared body of {@code whetstone grpo} and {@code whetstone ppo}: load the config with the
 * algorithm fixed, run, print the last checkpoint. A guard breach that stops the run exits with 3.
 */
abstract class RlCommand implements Callable<Integer> {

    /** Exit code of a run stopped by a guard band. */
    static final int GUARD_STOP = 3;

    @Option(names = "--config", description = "YAML config (see conf/grpo.yaml, conf/ppo.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. train.iterations=50 data.path=hdfs:///prompts")
    List<String> overrides = new ArrayList<>();

    abstract String algorithm();

    @Override
    public Integer call() {
        List<String> settings = new ArrayList<>(overrides);
        settings.add("algorithm.name=" + algorithm());
        RlConfig rl = RlConfig.load(config, settings);
        SparkSession spark = SparkRuntime.session("whetstone " + algorithm());
        RlResult result = new RlJob(spark, rl).run();
        if (result.stopReason() != null) {
            System.err.println("stopped by a guard: " + result.stopReason());
            System.out.println(result.checkpoint());
            return GUARD_STOP;
        }
        System.out.println(result.checkpoint());
        return 0;
    }
}
