package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.PrmDataConfig;
import io.whetstone.jobs.prm.PrmDataJob;
import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone prm-data}: Monte-Carlo step labels for process reward models. */
@Command(name = "prm-data", mixinStandardHelpOptions = true,
        description = {"Step labels for process reward models without human annotation (Math-Shepherd).",
                "%nSampled solutions split into steps; continuations rolled out from every step prefix on the "
                        + "executors; each step labelled by the share of its continuations the verifier accepts "
                        + "(soft) or whether any does (hard).",
                "%nWith steps.true_labels=true (the built-in task) each step also gets its true label and the "
                        + "statistics say how well the Monte-Carlo labels agree. Settings: conf/prm-data.yaml. Prints "
                        + "the steps file on the last line."})
public final class PrmDataCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/prm-data.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. sampling.rollouts_per_step=16")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        PrmDataConfig settings = PrmDataConfig.load(config, overrides);
        SparkSession spark = SparkRuntime.session("whetstone prm-data");
        PrmDataJob.Result result = new PrmDataJob(spark, settings).run();
        System.out.println(result.stats());
        System.out.println(result.data());
        return 0;
    }
}
