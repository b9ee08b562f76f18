package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The process reward model trainer's configuration ({@code whetstone prm}); see {@code conf/prm.yaml}. With
 * {@code lora.enabled} only low-rank adapters on the frozen causal LM train, and the export is the merged model.
 */
public record PrmConfig(RunSpec run, Data data, ModelSpec model, LoraSpec lora, int scoreToken, TrainSpec train,
                        SparkSpec spark, CheckpointSpec checkpoint, DebugSpec debug) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/prm-defaults.yaml";

    public PrmConfig {
        Checks.require(run != null && data != null && model != null && lora != null && train != null && spark != null
                && checkpoint != null && debug != null, "every section of the prm config must be set");
        Checks.require(!model.fromScratch(), "model.init must name the causal LM the process reward model starts "
                + "from (a checkpoint, model directory or .gguf)");
    }

    /** Defaults, then {@code file} (may be null), then {@code overrides}. */
    public static PrmConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(PrmConfig.class, DEFAULTS, file, overrides);
    }

    /** prm-data's {@code steps.jsonl}; {@code labels} soft (shares) or hard (0/1); rows cut at {@code seq_len}. */
    public record Data(String path, String labels, int seqLen) {
        public Data {
            Checks.require(path != null && !path.isBlank(), "data.path must be set (prm-data's steps.jsonl)");
            labels = Checks.oneOf("data.labels", labels, Set.of("soft", "hard"));
            Checks.require(seqLen >= 2, "data.seq_len must be >= 2, got " + seqLen);
        }
    }
}
