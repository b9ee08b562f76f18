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
import io.whetstone.jobs.config.ConfigException;

/** {@code whetstone distill}: logit distillation from a teacher into a student on Spark (SFT with a teacher). */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = {"Logit distillation from a teacher model on Spark.",
                "The student trains on a corpus as in sft, its loss mixing the divergence from a teacher's next-token distribution (forward KL, reverse KL or generalized JSD,",
                "at a temperature) with the data's cross-entropy. The teacher (distill.teacher, same tokenizer)",
                "is broadcast once and run on the executors. conf/distill.yaml documents the keys; override any",
                "with key=value. Prints the final checkpoint directory on the last line."})
public final class DistillCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/distill.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. distill.teacher=runs/big/checkpoints/round-000100")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        SftConfig settings = SftConfig.load(config, overrides);
        if (!settings.distill().enabled()) {
            throw new ConfigException("distill.teacher must be set (a checkpoint, model directory or .gguf)");
        }
        SparkSession spark = SparkRuntime.session("whetstone distill");
        SftResult result = new SftJob(spark, settings).run();
        System.out.println(result.checkpoint());
        return 0;
    }
}
