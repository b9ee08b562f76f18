package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone sft}: supervised fine-tuning on Spark. */
@Command(name = "sft", mixinStandardHelpOptions = true,
        description = {"Supervised fine-tuning on Spark.",
                "Validates and tokenizes a corpus on any Hadoop path, trains with parameter averaging (or gradient aggregation) across partitions, checkpoint,",
                "resume. Settings: conf/sft.yaml documents every key; override any with key=value.",
                "Prints the final checkpoint directory on the last line."})
public final class SftCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/sft.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. train.rounds=50 data.path=hdfs:///corpus")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        SftConfig sft = SftConfig.load(config, overrides);
        SparkSession spark = SparkRuntime.session("whetstone sft");
        SftResult result = new SftJob(spark, sft).run();
        System.out.println(result.checkpoint());
        return 0;
    }
}
