package io.whetstone.models.engine;

import java.util.function.LongSupplier;
import org.bytedeco.javacpp.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects ND4J's unreachable native buffers before they pile up. ND4J frees an array's off-heap memory only when
 * the garbage collector finds its Java object unreachable, and the Java heap barely grows while native memory does
 * (a 2 MB activation is a few hundred heap bytes), so between collections dead buffers accumulate: the demo's GRPO
 * stage (0.8M parameters) reached 10+ GB resident with a few hundred MB of it live. JavaCPP's own guard
 * ({@code org.bytedeco.javacpp.maxphysicalbytes}) collects only at a fixed limit, which has to be set for the largest
 * model a JVM will ever hold; this watch adapts to the live set instead.
 *
 * <p>A daemon thread reads the resident set every {@link #PERIOD_MS} ms; once it exceeds the resident set measured
 * after the last collection by the headroom (the larger of {@code whetstone.native_gc.headroom_mb}, default 512, and
 * {@code whetstone.native_gc.headroom_ratio}, default 0.25, of it) it runs {@code System.gc()}, which lets ND4J's
 * deallocator free every dead buffer, and measures the resident set again one period later. Where freed memory stays in the allocator (the resident set
 * does not drop) the baseline rises with it, so the watch never collects in a loop. {@code whetstone.native_gc=off}
 * turns it off. Started once per JVM: by the CLI on the driver and by the Spark plugin on executors.
 */
public final class NativeGarbage {

    private static final Logger LOG = LoggerFactory.getLogger(NativeGarbage.class);

    /** How often the watch thread reads the resident set. */
    static final long PERIOD_MS = 250;

    private static final long MB = 1L << 20;
    private static Thread thread;

    private final LongSupplier residentBytes;
    private final Runnable collect;
    private final long headroomBytes;
    private final double headroomRatio;
    private long threshold;
    private long collections;
    private boolean measureBaseline;

    NativeGarbage(LongSupplier residentBytes, Runnable collect, long headroomBytes, double headroomRatio) {
        if (headroomBytes <= 0 || headroomRatio < 0) {
            throw new IllegalArgumentException("native_gc headroom must be positive (" + headroomBytes / MB + " MB, "
                    + "ratio " + headroomRatio + ")");
        }
        this.residentBytes = residentBytes;
        this.collect = collect;
        this.headroomBytes = headroomBytes;
        this.headroomRatio = headroomRatio;
        this.threshold = thresholdAbove(residentBytes.getAsLong());
    }

    /** Starts this JVM's watch thread unless it runs already or {@code whetstone.native_gc=off}. */
    public static synchronized void start() {
        if (thread != null || "off".equalsIgnoreCase(System.getProperty("whetstone.native_gc", "on"))) {
            return;
        }
        long headroom = Long.getLong("whetstone.native_gc.headroom_mb", 512) * MB;
        double ratio = Double.parseDouble(System.getProperty("whetstone.native_gc.headroom_ratio", "0.25"));
        NativeGarbage watch;
        try {
            watch = new NativeGarbage(Pointer::physicalBytes, System::gc, headroom, ratio);
        } catch (LinkageError e) {
            // JavaCPP's native library did not load here: ND4J will say why when a job needs it; --help must not fail
            LOG.warn("native memory watch not started: {}", e.toString());
            return;
        }
        thread = new Thread(watch::watch, "whetstone-native-gc");
        thread.setDaemon(true);
        thread.start();
    }

    /** Checks the resident set now; runs a collection when it is past the threshold. Returns whether it did. */
    boolean check() {
        long resident = residentBytes.getAsLong();
        if (measureBaseline) {
            // ND4J's deallocator threads free the buffers a collection found dead shortly after it: the resident set
            // is measured one period later
            measureBaseline = false;
            threshold = thresholdAbove(resident);
            LOG.debug("native gc {}: resident {} MB after it, next at {} MB", collections, resident / MB,
                    threshold / MB);
            return false;
        }
        if (resident <= threshold) {
            return false;
        }
        collect.run();
        collections++;
        measureBaseline = true;
        return true;
    }

    /** Collections run so far. */
    long collections() {
        return collections;
    }

    /** The resident size that triggers the next collection. */
    long threshold() {
        return threshold;
    }

    private long thresholdAbove(long baseline) {
        return baseline + Math.max(headroomBytes, (long) (baseline * headroomRatio));
    }

    private void watch() {
        while (true) {
            try {
                Thread.sleep(PERIOD_MS);
                check();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("native memory watch stopped: {}", e.toString());
                return;
            }
        }
    }
}
