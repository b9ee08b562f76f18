package io.whetstone.jobs.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.OptionalInt;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

class GpuDeviceTest {

    private static Map<String, ResourceInformation> gpus(String... addresses) {
        return Map.of("gpu", new ResourceInformation("gpu", addresses));
    }

    @Test
    void theFirstAssignedIndexIsTheDevice() {
        assertEquals(OptionalInt.of(3), GpuDevice.assigned(gpus("3")));
        assertEquals(OptionalInt.of(1), GpuDevice.assigned(gpus("1", "2")));
        assertEquals(OptionalInt.empty(), GpuDevice.assigned(Map.of()));
        assertEquals(OptionalInt.empty(), GpuDevice.assigned(null));
        assertEquals(OptionalInt.empty(), GpuDevice.assigned(gpus()));
        assertEquals(GpuDevice.Outcome.NONE, GpuDevice.select(Map.of()));
    }

    @Test
    void anAddressThatIsNoIndexNamesTheDiscoveryScript() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GpuDevice.assigned(gpus("GPU-8f3c2a")));
        assertTrue(e.getMessage().contains("'GPU-8f3c2a'"), e.getMessage());
        assertTrue(e.getMessage().contains("spark.executor.resource.gpu.discoveryScript"), e.getMessage());
    }

    @Test
    void theCpuBuildReportsTheAssignmentAndGoesOn() {
        // The test classpath has ND4J's CPU backend only, as the default build.
        assertEquals(GpuDevice.Outcome.CPU_BUILD, GpuDevice.select(gpus("0")));
    }

    @Test
    void theCudaConfigurationIsToldToUseOnlyThatDevice() {
        FakeCudaEnvironment.CONFIGURATION.device = null;
        assertEquals(GpuDevice.Outcome.SELECTED, GpuDevice.use(2, FakeCudaEnvironment.class.getName()));
        assertEquals(2, FakeCudaEnvironment.CONFIGURATION.device);
    }

    /** The shape of nd4j-cuda's {@code org.nd4j.jita.conf.CudaEnvironment} that {@link GpuDevice} calls. */
    public static final class FakeCudaEnvironment {
        static final FakeConfiguration CONFIGURATION = new FakeConfiguration();
        private static final FakeCudaEnvironment INSTANCE = new FakeCudaEnvironment();

        public static FakeCudaEnvironment getInstance() {
            return INSTANCE;
        }

        public FakeConfiguration getConfiguration() {
            return CONFIGURATION;
        }
    }

    /** The shape of {@code org.nd4j.jita.conf.Configuration}. */
    public static final class FakeConfiguration {
        Integer device;

        public FakeConfiguration useDevice(Integer deviceId) {
            device = deviceId;
            return this;
        }
    }
}
