package io.whetstone.jobs.cli;

import io.whetstone.jobs.io.AdapterDirectory;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code whetstone merge}: a LoRA adapter directory merged into its base, written as a model directory. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Merge LoRA adapters into their base and write the merged model.",
                "Reads a PEFT adapter directory (adapter_config.json and adapter_model.safetensors; every LoRA "
                        + "checkpoint is one), loads the base its base_model_name_or_path names (a model directory "
                        + "or GGUF file, relative to the adapter directory when relative), adds (alpha / r) A B to "
                        + "each adapted weight and writes config.json, model.safetensors and the tokenizer files. "
                        + "Any Hadoop path. Commands that read a model (generate, eval-task, convert, model.init) "
                        + "also accept the adapter directory itself."})
public final class MergeCommand implements Callable<Integer> {

    @Option(names = "--adapter", required = true, description = "the adapter directory")
    String adapter;

    @Option(names = "--to", required = true, description = "the model directory to write (must not exist)")
    String to;

    @Override
    public Integer call() throws Exception {
        HadoopFiles files = new HadoopFiles(new Configuration());
        if (!AdapterDirectory.isAdapterDirectory(files, adapter)) {
            throw new IllegalArgumentException("--adapter " + adapter + " is not an adapter directory (no "
                    + AdapterDirectory.CONFIG + ", or it holds a full model)");
        }
        System.out.println(ConvertCommand.write(files, ModelSources.load(files, adapter), to));
        return 0;
    }
}
