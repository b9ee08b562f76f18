package io.whetstone.jobs.cli;

import io.whetstone.jobs.io.AdapterDirectory;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.models.checkpoint.Safetensors;
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

    @Option(names = "--dtype", defaultValue = "float32", description = "how to store the weights: float32 or "
            + "bfloat16 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Override
    public Integer call() throws Exception {
        Safetensors.StorageType type = Safetensors.StorageType.parse(dtype);
        HadoopFiles files = new HadoopFiles(new Configuration());
        if (!AdapterDirectory.isAdapterDirectory(files, adapter)) {
            throw new IllegalArgumentException("--adapter " + adapter + " is not an adapter directory (no "
                    + AdapterDirectory.CONFIG + ", or it holds a full model)");
        }
        System.out.println(ConvertCommand.write(files, ModelSources.load(files, adapter), to, type));
        return 0;
    }
}
