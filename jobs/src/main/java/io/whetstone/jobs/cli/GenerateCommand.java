package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.GenerateConfig;
import io.whetstone.jobs.generate.GenerateJob;
import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone generate}: completions for prompts on any Hadoop path. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Sample completions for prompts with a model, sharded across executors.",
                "Prompts are JSONL or Parquet with prompt, question or messages; the model (.gguf file or model directory), sharded across executors with the model broadcast once.",
                "Writes rows (source, line, sample, prompt, completion, tokens, logprobs, finish) to output.path.",
                "Settings: conf/generate.yaml documents every key; override any with key=value.",
                "Prints the output directory on the last line."})
public final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/generate.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. sampling.temperature=0 output.format=parquet")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        GenerateConfig generate = GenerateConfig.load(config, overrides);
        GenerateJob.Result result = new GenerateJob(SparkRuntime.session("whetstone generate"), generate).run();
        System.out.println(String.format("generated %d completions for %d prompts: %d tokens in %.1f s (%.0f tokens/s)",
                result.completions(), result.prompts(), result.generatedTokens(), result.seconds(),
                result.generatedTokens() / result.seconds()));
        System.out.println(result.output());
        return 0;
    }
}
