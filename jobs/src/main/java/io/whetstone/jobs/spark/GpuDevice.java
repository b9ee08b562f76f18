package io.whetstone.jobs.spark;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The GPU Spark assigned to an executor ({@code spark.executor.resource.gpu.amount} with a discovery script, see
 * {@code submit/cluster --gpus}), made the only device ND4J's CUDA backend uses in that JVM. Without this, ND4J
 * spreads its threads over every GPU the process can see, so two executors on one host would share devices.
 *
 * <p>It must run before ND4J initialises its backend (an executor plugin's init). With the CUDA backend it then
 * loads the backend itself and refuses a GPU whose architecture ND4J's kernels do not cover ({@link
 * #requireKernelsFor}). The CUDA classes are looked up by
 * name because the default build carries ND4J's CPU backend only; there a GPU assignment is reported and ignored.
 * An executor runs one task at a time (spark.task.cpus = its cores), so one device serves all its tasks; when
 * Spark assigns more than one, the first is used and the others are named in a warning.
 */
public final class GpuDevice {

    private static final Logger LOG = LoggerFactory.getLogger(GpuDevice.class);

    /** Spark's resource name for GPUs. */
    static final String RESOURCE = "gpu";

    /** ND4J's CUDA configuration entry point (nd4j-cuda-11.6). */
    static final String CUDA_ENVIRONMENT = "org.nd4j.jita.conf.CudaEnvironment";

    /** ND4J's handle on its native library, which answers a device's compute capability (nd4j-native-api). */
    static final String NATIVE_OPS_HOLDER = "org.nd4j.nativeblas.NativeOpsHolder";

    /**
     * The GPU architectures ND4J 1.0.0-M2.1's CUDA library ({@code libnd4jcuda.so} in nd4j-cuda-11.6) carries machine
     * code for, as major * 10 + minor. It carries no PTX, so no newer GPU can run its kernels: {@code
     * submit/cuda-arch-check} reads this list out of the jar; update both with the ND4J version.
     */
    static final int[] KERNEL_ARCHITECTURES = {37, 50, 52, 60, 61, 70, 75, 80, 86};

    private GpuDevice() {
    }

    /** What {@link #select} did, for logs and tests. */
    public enum Outcome {
        /** Spark assigned no GPU to this executor. */
        NONE,
        /** The assigned GPU is now ND4J's only device. */
        SELECTED,
        /** A GPU was assigned but this build has ND4J's CPU backend only. */
        CPU_BUILD
    }

    /** Makes the executor's assigned GPU, if any, ND4J's only CUDA device. */
    public static Outcome select(Map<String, ResourceInformation> resources) {
        OptionalInt device = assigned(resources);
        if (device.isEmpty()) {
            return Outcome.NONE;
        }
        Outcome outcome = use(device.getAsInt(), CUDA_ENVIRONMENT);
        if (outcome == Outcome.SELECTED) {
            Nd4j.getBackend(); // loads the backend, on the device just chosen; ND4J's native ops answer only then
            requireKernelsFor(device.getAsInt(), NATIVE_OPS_HOLDER);
        }
        if (outcome == Outcome.CPU_BUILD) {
            LOG.warn("Spark assigned GPU {} to this executor, but this jar carries ND4J's CPU backend only; "
                    + "build it with `mvn -Pcuda package` to train on the GPU", device.getAsInt());
        } else {
            LOG.info("ND4J uses GPU {} only (assigned by Spark)", device.getAsInt());
        }
        return outcome;
    }

    /**
     * The device index Spark assigned: the first of the executor's {@code gpu} addresses, which the discovery script
     * reports as CUDA device indices as this process sees them (0, 1, ...).
     *
     * @throws IllegalArgumentException when an address is not a device index (e.g. a UUID from a custom script)
     */
    static OptionalInt assigned(Map<String, ResourceInformation> resources) {
        ResourceInformation gpus = resources == null ? null : resources.get(RESOURCE);
        if (gpus == null || gpus.addresses().length == 0) {
            return OptionalInt.empty();
        }
        String[] addresses = gpus.addresses();
        int[] indices = new int[addresses.length];
        for (int i = 0; i < addresses.length; i++) {
            try {
                indices[i] = Integer.parseInt(addresses[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Spark's GPU address '" + addresses[i] + "' is not a CUDA device "
                        + "index; the discovery script (spark.executor.resource.gpu.discoveryScript) must print "
                        + "indices such as \"0\", \"1\" (submit/gpu-discovery does)");
            }
        }
        if (indices.length > 1) {
            LOG.warn("Spark assigned GPUs {} to this executor; a whetstone worker uses one device, GPU {}",
                    String.join(",", addresses), indices[0]);
        }
        return OptionalInt.of(indices[0]);
    }

    /**
     * Whether ND4J's kernels run on a GPU of compute capability major.minor: machine code for sm_XY runs on GPUs of
     * capability X.Z with Z >= Y (same major architecture), and there is no PTX to compile for any other.
     */
    static boolean kernelsRunOn(int major, int minor) {
        for (int architecture : KERNEL_ARCHITECTURES) {
            if (architecture / 10 == major && architecture % 10 <= minor) {
                return true;
            }
        }
        return false;
    }

    /** A CUDA device's name and compute capability, as ND4J's native library reports them. */
    record Capability(String name, int major, int minor) {
    }

    /**
     * The device's capability from {@code NativeOpsHolder.getInstance().getDeviceNativeOps().getDeviceMajor/Minor},
     * the calls ND4J's own {@code CudaEnvironment.getCurrentDeviceArchitecture} makes; empty (and logged) when they
     * cannot be made. Only after ND4J's backend is loaded: before, {@code NativeOpsHolder}'s static initialiser fails
     * (a property the backend sets is missing), and a class whose initialiser failed stays unusable in that JVM.
     */
    static Optional<Capability> capability(int device, String nativeOpsHolderClass) {
        try {
            Class<?> holder = Class.forName(nativeOpsHolderClass);
            Object instance = holder.getMethod("getInstance").invoke(null);
            Method getOps = holder.getMethod("getDeviceNativeOps");
            Object ops = getOps.invoke(instance);
            // through the declared type (the public NativeOps interface), not the implementing class
            Class<?> api = getOps.getReturnType();
            int major = (Integer) api.getMethod("getDeviceMajor", int.class).invoke(ops, device);
            int minor = (Integer) api.getMethod("getDeviceMinor", int.class).invoke(ops, device);
            String name = String.valueOf(api.getMethod("getDeviceName", int.class).invoke(ops, device));
            return Optional.of(new Capability(name, major, minor));
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.warn("Could not read GPU {}'s compute capability from ND4J ({}); not checked", device, e.toString());
            return Optional.empty();
        }
    }

    /**
     * Fails with one clear message when ND4J's kernels cannot run on the device (e.g. a Hopper GPU, 9.0), which
     * otherwise shows up as "no kernel image is available" at the first operation, in every task.
     */
    static void requireKernelsFor(int device, String nativeOpsHolderClass) {
        Optional<Capability> read = capability(device, nativeOpsHolderClass);
        if (read.isEmpty()) {
            return;
        }
        Capability gpu = read.get();
        if (!kernelsRunOn(gpu.major(), gpu.minor())) {
            throw new IllegalStateException("GPU " + device + " (" + gpu.name() + ") has compute capability "
                    + gpu.major() + "." + gpu.minor() + "; ND4J 1.0.0-M2.1's CUDA kernels carry machine code for sm_"
                    + KERNEL_ARCHITECTURES[0] + " to sm_" + KERNEL_ARCHITECTURES[KERNEL_ARCHITECTURES.length - 1]
                    + " only and no PTX, so none of them can run on it (Hopper GPUs such as the H100 "
                    + "and H200 are 9.0). Run this job on CPU executors (a jar built without -Pcuda, no --gpus) or on "
                    + "Ampere, Ada or older GPUs; submit/cuda-arch-check tells for a node");
        }
        LOG.info("GPU {} ({}) has compute capability {}.{}, which ND4J's CUDA kernels cover", device, gpu.name(),
                gpu.major(), gpu.minor());
    }

    /** {@code CudaEnvironment.getInstance().getConfiguration().useDevice(device)} when that class is present. */
    static Outcome use(int device, String environmentClass) {
        Class<?> environment;
        try {
            environment = Class.forName(environmentClass);
        } catch (ClassNotFoundException e) {
            return Outcome.CPU_BUILD;
        }
        try {
            Object instance = environment.getMethod("getInstance").invoke(null);
            Object configuration = environment.getMethod("getConfiguration").invoke(instance);
            configuration.getClass().getMethod("useDevice", Integer.class).invoke(configuration, device);
            return Outcome.SELECTED;
        } catch (NoSuchMethodException | IllegalAccessException e) {
            throw new IllegalStateException("ND4J's CUDA configuration API is not the one whetstone was written "
                    + "for (" + environmentClass + ".getConfiguration().useDevice(Integer))", e);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("ND4J refused GPU " + device + ": " + e.getCause(), e.getCause());
        }
    }
}
