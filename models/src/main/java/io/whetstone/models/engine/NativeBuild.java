package io.whetstone.models.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which of the two shipped ND4J CPU builds a JVM loads. The oneDNN AVX-512 build is the fastest measured here, but
 * its library initialiser executes AVX-512 instructions and kills the JVM with SIGILL on a CPU without them (seen on
 * AMD EPYC machines with AVX2 only). With both builds on the class path JavaCPP loads the AVX2 one unless the system
 * property {@value #PROPERTY} names another; {@link #select()} sets it to the AVX-512 build when this machine's CPU
 * has the instructions, before ND4J is first touched. Hand-written because neither JavaCPP nor ND4J checks the CPU
 * before loading.
 */
public final class NativeBuild {

    /** JavaCPP's platform-extension property: the suffix of the native build to load. */
    public static final String PROPERTY = "org.bytedeco.javacpp.platform.extension";
    /** The AVX-512 build's suffix. */
    public static final String AVX512 = "-onednn-avx512";
    /** The AVX2 build's suffix (what JavaCPP loads when nothing is set). */
    public static final String AVX2 = "-onednn-avx2";
    /** The CPU flags the AVX-512 build needs (Skylake-X's set; the build is compiled for it). */
    static final Set<String> AVX512_FLAGS = Set.of("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd");

    private NativeBuild() {
    }

    /**
     * Sets {@value #PROPERTY} for this machine unless the user set it (then theirs stands). Call before the first
     * use of ND4J in the JVM; later calls change nothing once a build is loaded.
     *
     * @return the suffix in force
     */
    public static synchronized String select() {
        String set = System.getProperty(PROPERTY);
        if (set != null && !set.isBlank()) {
            return set;
        }
        String chosen = choose(cpuFlags(Path.of("/proc/cpuinfo")));
        System.setProperty(PROPERTY, chosen);
        return chosen;
    }

    /** The build for a CPU with {@code flags}: AVX-512 only when every flag it needs is there. */
    static String choose(Optional<Set<String>> flags) {
        return flags.filter(f -> f.containsAll(AVX512_FLAGS)).isPresent() ? AVX512 : AVX2;
    }

    /** The first processor's flags from a cpuinfo file, or empty when there is none (not Linux). */
    static Optional<Set<String>> cpuFlags(Path cpuinfo) {
        if (!Files.isReadable(cpuinfo)) {
            return Optional.empty();
        }
        try (var lines = Files.lines(cpuinfo)) {
            return lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .map(l -> Arrays.stream(l.split("\\s+")).collect(Collectors.toUnmodifiableSet()));
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.empty();
        }
    }
}
