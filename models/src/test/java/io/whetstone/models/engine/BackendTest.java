package io.whetstone.models.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.whetstone.models.kernels.KernelChoice;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The tests run on the ND4J backend the build was made for (the {@code cpu} profile or {@code -Pcuda}, set by
 * models/pom.xml as {@code whetstone.expect.backend}), so a CUDA check that silently fell back to the CPU fails
 * here; and a matrix product on that backend gives the right numbers.
 */
class BackendTest {

    @Test
    void theBuildsBackendRuns() {
        String expected = System.getProperty("whetstone.expect.backend");
        assertNotNull(expected, "models/pom.xml sets whetstone.expect.backend for surefire");
        String backend = Nd4j.getBackend().getClass().getSimpleName();
        String actual = KernelChoice.cpuBackend() ? "cpu" : backend.toLowerCase(Locale.ROOT).contains("cublas")
                ? "cuda" : backend;
        assertEquals(expected, actual, "ND4J backend " + backend);
    }

    @Test
    void aProductOnThatBackendIsRight() {
        // [2, 3] x [3, 2]
        var a = Nd4j.create(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, 'c');
        var b = Nd4j.create(new float[] {7, 8, 9, 10, 11, 12}, new long[] {3, 2}, 'c');
        var c = a.mmul(b);
        assertEquals(DataType.FLOAT, c.dataType());
        assertEquals(58f, c.getFloat(0, 0));
        assertEquals(64f, c.getFloat(0, 1));
        assertEquals(139f, c.getFloat(1, 0));
        assertEquals(154f, c.getFloat(1, 1));
    }
}
