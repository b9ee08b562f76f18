package io.whetstone.models.kernels;

import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Which implementation of {@link Kernels} the engine runs. */
public enum KernelChoice {
    /** Fused CPU kernels for fp32 on the CPU backend when the Vector API is present; ND4J ops otherwise. */
    AUTO,
    /** {@link FusedCpuKernels}: fp32, CPU backend, needs {@code --add-modules jdk.incubator.vector}. */
    FUSED_CPU,
    /** {@link Nd4jKernels}: any backend, any data type. */
    ND4J,
    /** {@link ReferenceKernels}: plain double loops, for tests and gradient checks. */
    REFERENCE;

    /** Parses a name such as {@code auto}, {@code fused_cpu} or {@code fused-cpu}. */
    public static KernelChoice parse(String name) {
        String key = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (KernelChoice choice : values()) {
            if (choice.name().equals(key)) {
                return choice;
            }
        }
        throw new IllegalArgumentException("unknown kernels '" + name + "' (expected auto, fused_cpu, nd4j, reference)");
    }

    /** Whether the JVM was started with {@code --add-modules jdk.incubator.vector}. */
    public static boolean vectorApiAvailable() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    /** Whether ND4J runs on its CPU backend, where array memory is host memory. */
    public static boolean cpuBackend() {
        return Nd4j.getBackend().getClass().getSimpleName().startsWith("Cpu");
    }

    /** The choice AUTO resolves to here, for {@code dataType}. */
    public KernelChoice resolve(DataType dataType) {
        if (this != AUTO) {
            return this;
        }
        return dataType == DataType.FLOAT && cpuBackend() && vectorApiAvailable() ? FUSED_CPU : ND4J;
    }

    /** Creates the kernels; {@code threads} is used by the fused CPU kernels. */
    public Kernels create(DataType dataType, int threads) {
        KernelChoice resolved = resolve(dataType);
        switch (resolved) {
            case FUSED_CPU:
                if (!vectorApiAvailable()) {
                    throw new IllegalArgumentException("fused_cpu kernels need the JVM flag --add-modules jdk.incubator.vector");
                }
                if (dataType != DataType.FLOAT) {
                    throw new IllegalArgumentException("fused_cpu kernels run in fp32, not " + dataType);
                }
                return new FusedCpuKernels(threads);
            case ND4J:
                return new Nd4jKernels();
            case REFERENCE:
                return new ReferenceKernels();
            default:
                throw new IllegalStateException("unresolved kernel choice " + resolved);
        }
    }
}
