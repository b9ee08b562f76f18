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
 * @param frozenStorage how frozen weight matrices are kept (a LoRA base, a reference or teacher model):
 *     {@code dataType}, or BFLOAT16 / HALF to halve them, computing in {@code dataType} all the same
 */
public record EngineOptions(DataType dataType, KernelChoice kernels, int threads, DataType frozenStorage)
        implements java.io.Serializable {

    /** Frozen weights kept in {@code dataType}. */
    public EngineOptions(DataType dataType, KernelChoice kernels, int threads) {
        this(dataType, kernels, threads, dataType);
    }

    public EngineOptions {
        frozenStorage = frozenStorage == null ? dataType : frozenStorage;
        if (frozenStorage != dataType && frozenStorage != DataType.BFLOAT16 && frozenStorage != DataType.HALF) {
            throw new IllegalArgumentException("frozen weights are kept in " + dataType + ", BFLOAT16 or HALF, not "
                    + frozenStorage);
        }
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

    /** These options with frozen weight matrices kept in {@code storage}. */
    public EngineOptions withFrozenStorage(DataType storage) {
        return new EngineOptions(dataType, kernels, threads, storage);
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
