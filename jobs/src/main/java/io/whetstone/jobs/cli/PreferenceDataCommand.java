package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.PreferenceDataConfig;
import io.whetstone.jobs.preference.PreferenceDataJob;
import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone preference-data}: preference pairs from a policy's own scored samples. */
@Command(name = "preference-data", mixinStandardHelpOptions = true,
        description = {"Preference pairs (or KTO labels) from a policy's own scored samples.",
                "%nK completions per prompt are sampled on the executors, scored by a verifier and/or a reward "
                        + "model, and paired best against worst (or every higher against every lower), or labelled "
                        + "for KTO. Resumable by chunk; a rerun with the same inputs keeps the finished output. "
                        + "Settings: conf/preference-data.yaml. Prints the data file the dpo job reads on the last "
                        + "line."})
public final class PreferenceDataCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/preference-data.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. sampling.samples_per_prompt=8")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        PreferenceDataConfig settings = PreferenceDataConfig.load(config, overrides);
        SparkSession spark = SparkRuntime.session("whetstone preference-data");
        PreferenceDataJob.Result result = new PreferenceDataJob(spark, settings).run();
        System.out.println(result.data());
        return 0;
    }
}
