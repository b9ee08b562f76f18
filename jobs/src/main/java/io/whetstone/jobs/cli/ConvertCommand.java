package io.whetstone.jobs.cli;

import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.models.checkpoint.Safetensors;
import java.io.IOException;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code whetstone convert}: a GGUF file or a model directory to a Hugging Face model directory. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a GGUF file or model directory to a Hugging Face model directory.",
                "Writes config.json, model.safetensors and the tokenizer files, which the transformers library loads as the same model. --from takes a .gguf file",
                "(llama architecture; F32, F16, BF16, Q8_0 tensors; its SentencePiece vocabulary becomes a",
                "tokenizer.json), a model directory (single or sharded safetensors) or a LoRA adapter directory (merged into its base). Any Hadoop path."})
public final class ConvertCommand implements Callable<Integer> {

    @Option(names = "--from", required = true, description = "a .gguf file or a model directory")
    String from;

    @Option(names = "--to", required = true, description = "the Hugging Face directory to write (must not exist)")
    String to;

    @Option(names = "--dtype", defaultValue = "float32", description = "how to store the weights: float32 or "
            + "bfloat16 (half the size; rounded to nearest even) (default: ${DEFAULT-VALUE})")
    String dtype;

    @Override
    public Integer call() throws Exception {
        Safetensors.StorageType type = Safetensors.StorageType.parse(dtype);
        HadoopFiles files = new HadoopFiles(new Configuration());
        System.out.println(write(files, ModelSources.load(files, from), to, type));
        return 0;
    }

    /** Writes {@code model} as a new Hugging Face directory {@code to} (temporary, rename, {@code _SUCCESS}). */
    static Path write(HadoopFiles files, CheckpointStore.ModelAndTokenizer model, String to,
                      Safetensors.StorageType type) throws IOException {
        Path target = new Path(files.qualify(to));
        FileSystem fs = files.fs(target);
        if (fs.exists(target)) {
            throw new IllegalArgumentException("--to " + target + " already exists");
        }
        Path temporary = new Path(target.getParent(), "." + target.getName() + "._tmp-" + UUID.randomUUID());
        fs.mkdirs(temporary);
        new CheckpointStore(files, temporary.toString()).writeModel(temporary, model.params(), model.config(),
                model.tokenizer(), type);
        files.publishDirectory(temporary, target);
        return target;
    }
}
