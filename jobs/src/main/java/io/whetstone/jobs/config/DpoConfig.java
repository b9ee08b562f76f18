package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;

/**
 * The preference-optimisation job's configuration (DPO, IPO, SimPO, ORPO, KTO); see {@code conf/dpo.yaml} for
 * every key. The policy starts from {@code model.init} (a trained model); the frozen reference is
 * {@code reference} or, when empty, the same model. With {@code lora.enabled} the policy (or reward model) is
 * the frozen starting model plus trained low-rank adapters, merged into a full model at the end.
 */
public record DpoConfig(RunSpec run, PreferenceDataSpec data, TokenizerSpec tokenizer, ModelSpec model,
                        LoraSpec lora, String reference, PreferenceLossSpec preference, TrainSpec train,
                        SparkSpec spark, CheckpointSpec checkpoint, DebugSpec debug) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/dpo-defaults.yaml";

    public DpoConfig {
        Checks.require(run != null && data != null && tokenizer != null && model != null && lora != null
                && preference != null
                && train != null && spark != null && checkpoint != null && debug != null,
                "every section of the dpo config must be set");
        Checks.require(!model.fromScratch(), "model.init must name the trained model to optimise (a checkpoint, "
                + "model directory or .gguf); preference optimisation does not start from scratch");
        reference = reference == null ? "" : reference.trim();
        Checks.require(preference.kto() == data.format().equals("unpaired"), preference.kto()
                ? "preference.loss kto reads unpaired data: set data.format=unpaired"
                : "preference.loss " + preference.loss() + " reads pairs: set data.format=paired");
    }

    /** The frozen reference model's path: {@code reference}, or the policy's starting model. */
    public String referencePath() {
        return reference.isEmpty() ? model.init() : reference;
    }

    /** Defaults, then {@code file} (may be null), then {@code overrides}. */
    public static DpoConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(DpoConfig.class, DEFAULTS, file, overrides);
    }
}
