package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.preference.DpoJob;
import io.whetstone.jobs.preference.DpoResult;
import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone dpo}: preference optimisation on Spark. */
@Command(name = "dpo", mixinStandardHelpOptions = true,
        description = {"Preference optimisation: DPO, IPO, SimPO, ORPO or KTO from a trained model.",
                "%nReads paired (prompt, chosen, rejected) or unpaired (prompt, completion, label) data on any "
                        + "Hadoop path. The reference model's log-probs are computed once per corpus and cached. "
                        + "Settings: conf/dpo.yaml documents every key. Prints the final checkpoint directory on the "
                        + "last line."})
public final class DpoCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/dpo.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. preference.beta=0.2 data.path=hdfs:///prefs")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        DpoConfig dpo = DpoConfig.load(config, overrides);
        SparkSession spark = SparkRuntime.session("whetstone dpo");
        DpoResult result = new DpoJob(spark, dpo).run();
        System.out.println(result.checkpoint());
        return 0;
    }
}
