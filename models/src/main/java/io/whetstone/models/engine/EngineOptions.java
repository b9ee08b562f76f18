package io.whetstone.models.engine;

import io.whetstone.models.kernels.KernelChoice;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * How the engine runs, as opposed to what the model is: precision, kernels and CPU threads for the
 * fused kernels. Carried in job configs so every Spark task applies the same settings.
 *
 * @param dataType FLOAT for training; DOUBLE for gradient checks
 * @param kernels which kernel implementation
 * @param threads threads of the fused CPU kernels (match the cores a task has)
 */
public record EngineOptions(DataType dataType, KernelChoice kernels, int threads) implements java.io.Serializable {

    public EngineOptions {
        if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) {
            throw new IllegalArgumentException("the engine runs in FLOAT or DOUBLE, not " + dataType);
        }
        if (kernels == null) {
            throw new IllegalArgumentException("kernels must be set");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
    }

    /** fp32 with the best kernels for this machine and {@code threads} threads. */
    public static EngineOptions fp32(int threads) {
        return new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, threads);
    }

    /** fp64 with the reference kernels: slow, exact, for gradient checks. */
    public static EngineOptions fp64Reference() {
        return new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE, 1);
    }
}
