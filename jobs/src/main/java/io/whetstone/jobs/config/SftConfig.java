package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;

/** The SFT job's configuration; see {@code conf/sft.yaml} for every key with its meaning. */
public record SftConfig(RunSpec run, DataSpec data, TokenizerSpec tokenizer, ModelSpec model, LoraSpec lora,
                        DistillSpec distill, TrainSpec train, HeldOutSpec eval, SparkSpec spark,
                        CheckpointSpec checkpoint, DebugSpec debug) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/sft-defaults.yaml";

    public SftConfig {
        Checks.require(run != null && data != null && tokenizer != null && model != null && lora != null && distill != null
                && train != null && eval != null
                && spark != null && checkpoint != null && debug != null, "every section of the sft config must be set");
        Checks.require(model.maxSeqLen() == 0 || model.maxSeqLen() >= data.seqLen(),
                "model.max_seq_len " + model.maxSeqLen() + " is below data.seq_len " + data.seqLen());
    }

    /** Defaults, then {@code file} (may be null), then {@code overrides}. */
    public static SftConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(SftConfig.class, DEFAULTS, file, overrides);
    }
}
