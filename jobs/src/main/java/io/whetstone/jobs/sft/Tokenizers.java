package io.whetstone.jobs.sft;

import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.datasets.tokenize.HfTokenizer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.TokenizerSpec;
import io.whetstone.jobs.io.CheckpointStore;
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
        Path config = new Path(json.getParent(), "tokenizer_config.json");
        byte[] configBytes = files.exists(config) ? files.readBytes(config) : null;
        if (!files.exists(json)) {
            Tokenizer slowFiles = json.getParent().equals(path) ? CheckpointStore.fromVocabularyAndMerges(files, path,
                    configBytes, spec.specialTokens()) : null;
            if (slowFiles != null) {
                return slowFiles;
            }
            throw new IllegalArgumentException("tokenizer.path: " + json + " does not exist (nor vocab.json and "
                    + "merges.txt beside it)");
        }
        return HfTokenizer.of(files.readBytes(json), CheckpointStore.withChatTemplateFile(files, json.getParent(),
                configBytes), spec.specialTokens());
    }
}
