package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.TtsConfig;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.jobs.tts.TtsJob;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.concurrent.Callable;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone tts}: test-time scaling strategies at budgets of samples or tokens per question. */
@Command(name = "tts", mixinStandardHelpOptions = true,
        description = {"Test-time scaling: more samples per question, answers picked by vote, reward models or search.",
                "%nMany samples per question on the executors; strategies: greedy, self-consistency (majority vote), "
                        + "compute-optimal self-consistency, a reward-model-weighted vote, best-of-N by an outcome or a "
                        + "process reward model or by the verifier (the oracle bound), and step-level beam search "
                        + "guided by a process reward model; at budgets of samples or tokens per question.",
                "%nWrites <run.dir>/table.{jsonl,parquet}, <run.dir>/summary.json (accuracy, 95%% interval and "
                        + "tokens per question for every strategy and budget) and <run.dir>/accuracy_vs_tokens.svg. "
                        + "Settings: conf/tts.yaml. Prints the summary's path on the last line."})
public final class TtsCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/tts.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. sampling.samples_per_prompt=8")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        TtsConfig settings = TtsConfig.load(config, overrides);
        SparkSession spark = SparkRuntime.session("whetstone tts");
        TtsJob.Result result = new TtsJob(spark, settings).run();
        for (TtsJob.Summary s : result.summary()) {
            System.out.printf("%-18s budget %5d  accuracy %5.1f%% [%4.1f, %4.1f]  %7.1f tokens/question%n",
                    s.strategy(), s.budget(), 100 * s.accuracy(), 100 * s.ci95().low(), 100 * s.ci95().high(),
                    s.tokensPerQuestion());
        }
        System.out.println(new org.apache.hadoop.fs.Path(result.runDir(), "summary.json"));
        return 0;
    }
}
