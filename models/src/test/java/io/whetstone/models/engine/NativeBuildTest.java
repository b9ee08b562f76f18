package io.whetstone.models.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeBuildTest {

    @Test
    void avx512OnlyWhenEveryFlagIsThere(@TempDir Path dir) throws Exception {
        Path skylake = dir.resolve("skylake");
        Files.writeString(skylake, "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 avx512f avx512dq avx512cd avx512bw "
                + "avx512vl fma\n\nprocessor\t: 1\nflags\t\t: fpu\n");
        Path epyc = dir.resolve("epyc");
        Files.writeString(epyc, "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma\n");
        Path partial = dir.resolve("partial");
        Files.writeString(partial, "flags : avx2 avx512f\n");

        assertEquals(NativeBuild.AVX512, NativeBuild.choose(NativeBuild.cpuFlags(skylake)));
        assertEquals(NativeBuild.AVX2, NativeBuild.choose(NativeBuild.cpuFlags(epyc)));
        assertEquals(NativeBuild.AVX2, NativeBuild.choose(NativeBuild.cpuFlags(partial)));
        assertEquals(NativeBuild.AVX2, NativeBuild.choose(NativeBuild.cpuFlags(dir.resolve("missing"))));
        assertEquals(Optional.of(Set.of("avx2", "avx512f")), NativeBuild.cpuFlags(partial));
    }

    @Test
    void theUsersSettingStands() {
        String before = System.getProperty(NativeBuild.PROPERTY);
        try {
            System.setProperty(NativeBuild.PROPERTY, "-onednn");
            assertEquals("-onednn", NativeBuild.select());
        } finally {
            if (before == null) {
                System.clearProperty(NativeBuild.PROPERTY);
            } else {
                System.setProperty(NativeBuild.PROPERTY, before);
            }
        }
    }
}
