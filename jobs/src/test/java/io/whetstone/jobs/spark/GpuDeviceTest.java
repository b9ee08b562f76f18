package io.whetstone.jobs.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.OptionalInt;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

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

    @Test
    void kernelsRunOnTheArchitecturesTheyCarryAndTheirLaterMinorVersionsOnly() {
        // sm_86 machine code runs on 8.6 and 8.9 (Ada); nothing runs on Hopper (9.0) or later, or before sm_37
        assertTrue(GpuDevice.kernelsRunOn(8, 0));
        assertTrue(GpuDevice.kernelsRunOn(8, 6));
        assertTrue(GpuDevice.kernelsRunOn(8, 9));
        assertTrue(GpuDevice.kernelsRunOn(7, 5));
        assertTrue(GpuDevice.kernelsRunOn(3, 7));
        assertFalse(GpuDevice.kernelsRunOn(9, 0));
        assertFalse(GpuDevice.kernelsRunOn(10, 0));
        assertFalse(GpuDevice.kernelsRunOn(12, 0));
        assertFalse(GpuDevice.kernelsRunOn(3, 5));
    }

    @Test
    void aGpuTheKernelsDoNotCoverFailsWithOneClearMessage() {
        FakeNativeOpsHolder.OPS.major = 9;
        FakeNativeOpsHolder.OPS.minor = 0;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GpuDevice.requireKernelsFor(1, FakeNativeOpsHolder.class.getName()));
        assertTrue(e.getMessage().contains("GPU 1 (NVIDIA H200) has compute capability 9.0"), e.getMessage());
        assertTrue(e.getMessage().contains("CPU executors"), e.getMessage());
        assertEquals(1, FakeNativeOpsHolder.OPS.asked);

        FakeNativeOpsHolder.OPS.major = 8;
        FakeNativeOpsHolder.OPS.minor = 6;
        GpuDevice.requireKernelsFor(0, FakeNativeOpsHolder.class.getName());
        assertEquals(0, FakeNativeOpsHolder.OPS.asked);
    }

    @Test
    void anUnreadableCapabilityIsLoggedNotFatal() {
        assertTrue(GpuDevice.capability(0, "org.example.NoSuchHolder").isEmpty());
        GpuDevice.requireKernelsFor(0, "org.example.NoSuchHolder");
    }

    @Test
    void theCapabilityIsReadThroughNd4jsRealNativeOpsApi() {
        // The CPU backend answers the same calls (with no real device); this checks the reflective path against
        // ND4J's actual classes and method signatures, which the CUDA build shares.
        Nd4j.getBackend(); // the backend first, as GpuDevice.select does
        assertTrue(GpuDevice.capability(0, GpuDevice.NATIVE_OPS_HOLDER).isPresent());
    }

    /** The shape of nd4j-native-api's {@code NativeOpsHolder} and {@code NativeOps} that {@link GpuDevice} calls. */
    public static final class FakeNativeOpsHolder {
        static final FakeNativeOps OPS = new FakeNativeOps();
        private static final FakeNativeOpsHolder INSTANCE = new FakeNativeOpsHolder();

        public static FakeNativeOpsHolder getInstance() {
            return INSTANCE;
        }

        public FakeNativeOps getDeviceNativeOps() {
            return OPS;
        }
    }

    /** Answers a device's capability and name, remembering which device was asked. */
    public static final class FakeNativeOps {
        int major;
        int minor;
        int asked = -1;

        public int getDeviceMajor(int device) {
            asked = device;
            return major;
        }

        public int getDeviceMinor(int device) {
            return minor;
        }

        public String getDeviceName(int device) {
            return "NVIDIA H200";
        }
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
