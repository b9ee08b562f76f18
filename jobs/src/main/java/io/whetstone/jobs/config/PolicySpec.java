package io.whetstone.jobs.config;

import java.util.Set;

/**
 * The model a sampling job draws from ({@code policy} in preference-data and tts): a checkpoint, model
 * directory or GGUF on any Hadoop path, and the kernels its executors run.
 */
public record PolicySpec(String path, String kernels) {
    public PolicySpec {
        Checks.require(path != null && !path.isBlank(), "policy.path must be set");
        kernels = Checks.oneOf("policy.kernels", kernels, Set.of("auto", "fused_cpu", "nd4j"));
    }
}
