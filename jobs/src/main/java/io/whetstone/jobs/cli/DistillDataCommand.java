package io.whetstone.jobs.cli;

import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import io.whetstone.jobs.config.DistillDataConfig;
import io.whetstone.jobs.distill.DistillDataJob;

/** {@code whetstone distill-data}: a verified chain-of-thought corpus sampled from a teacher on Spark. */
@Command(name = "distill-data", mixinStandardHelpOptions = true,
        description = {"A verified chain-of-thought corpus from a teacher, by rejection sampling on Spark.",
                "The teacher samples rationales for each prompt on the executors, a verifier scores them, and the verified ones",
                "(deduplicated, at most max_per_prompt per prompt) are written in the prompt_completion format",
                "the sft job reads, with statistics. Resumable (chunks) and idempotent (keyed by its inputs).",
                "conf/distill-data.yaml documents every key. Prints the corpus directory on the last line."})
public final class DistillDataCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/distill-data.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. teacher.path=runs/rl/checkpoints/round-000090")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        DistillDataConfig settings = DistillDataConfig.load(config, overrides);
        SparkSession spark = SparkRuntime.session("whetstone distill-data");
        DistillDataJob.Result result = new DistillDataJob(spark, settings).run();
        System.out.println(result.output());
        return 0;
    }
}
