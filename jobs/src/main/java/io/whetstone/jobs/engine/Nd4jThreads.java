package io.whetstone.jobs.engine;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Applies a task's thread count to ND4J inside the task, since settings made on the driver never reach
 * executors. OpenMP's thread count is a per-thread setting (omp_set_num_threads affects the calling
 * thread only), so it is set in every task thread; otherwise partitions would compute with 1 or N
 * threads depending on which Spark thread ran them, and GEMM blocking (hence the last bits) would vary.
 * With spark.task.cpus equal to this count, tasks do not oversubscribe their cores.
 */
public final class Nd4jThreads {

    private static final ThreadLocal<Integer> APPLIED = new ThreadLocal<>();
    private static volatile int appliedGlobally = -1;

    private Nd4jThreads() {
    }

    public static void apply(int threads) {
        // Global settings first: touching Nd4j loads the backend, which NativeOpsHolder needs (in a fresh
        // executor JVM nothing has loaded it yet).
        if (appliedGlobally != threads) {
            synchronized (Nd4jThreads.class) {
                Nd4j.getEnvironment().setMaxMasterThreads(threads);
                Nd4j.getEnvironment().setMaxThreads(threads);
                Nd4j.factory().blas().setMaxThreads(threads);
                appliedGlobally = threads;
            }
        }
        Integer here = APPLIED.get();
        if (here == null || here != threads) {
            NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
            APPLIED.set(threads);
        }
    }
}
