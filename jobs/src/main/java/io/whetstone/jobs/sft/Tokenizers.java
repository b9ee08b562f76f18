package io.whetstone.jobs.sft;

import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.datasets.tokenize.HfTokenizer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.TokenizerSpec;
import io.whetstone.jobs.io.HadoopFiles;
import org.apache.hadoop.fs.Path;

/** Builds the tokenizer a job config names. */
public final class Tokenizers {

    private Tokenizers() {
    }

    /** The configured tokenizer, or null for {@code auto} (the model decides). */
    public static Tokenizer configured(TokenizerSpec spec, HadoopFiles files) {
        return spec.type().equals("auto") ? null : load(spec, files);
    }

    /** The tokenizer {@code spec} names; {@code auto} means the byte-level one (for models from scratch). */
    public static Tokenizer load(TokenizerSpec spec, HadoopFiles files) {
        if (spec.type().equals("byte") || spec.type().equals("auto")) {
            return new ByteTokenizer();
        }
        if (spec.type().equals("r50k_base")) {
            return new io.whetstone.datasets.tokenize.TiktokenTokenizer();
        }
        Path path = new Path(spec.path());
        Path json = path.getName().endsWith(".json") ? path : new Path(path, "tokenizer.json");
        if (!files.exists(json)) {
            throw new IllegalArgumentException("tokenizer.path: " + json + " does not exist");
        }
        Path config = new Path(json.getParent(), "tokenizer_config.json");
        byte[] configBytes = io.whetstone.jobs.io.CheckpointStore.withChatTemplateFile(files, json.getParent(),
                files.exists(config) ? files.readBytes(config) : null);
        return HfTokenizer.of(files.readBytes(json), configBytes, spec.specialTokens());
    }
}
