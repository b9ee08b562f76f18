package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.PrmConfig;
import io.whetstone.jobs.prm.PrmJob;
import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone prm}: a process reward model trained on prm-data's step labels. */
@Command(name = "prm", mixinStandardHelpOptions = true,
        description = {"A process reward model trained on prm-data's step labels.",
                "%nFrom a causal LM: a score at every step's last token (the LM head's row of score_token), trained "
                        + "by binary cross-entropy on soft or hard step labels, on Spark with rounds, checkpoints "
                        + "and resume.",
                "%nExports <run.dir>/process_reward_model in Hugging Face's token-classification layout. Settings: "
                        + "conf/prm.yaml. Prints the export's directory on the last line."})
public final class PrmCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/prm.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. data.labels=hard")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        PrmConfig settings = PrmConfig.load(config, overrides);
        SparkSession spark = SparkRuntime.session("whetstone prm");
        PrmJob.Result result = new PrmJob(spark, settings).run();
        System.out.println(result.model());
        return 0;
    }
}
