package io.whetstone.jobs.engine;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Applies a task's thread count to ND4J (ops and BLAS) inside the task, since settings made on the
 * driver never reach executors. With spark.task.cpus equal to this count, tasks do not oversubscribe.
 */
final class Nd4jThreads {

    private static volatile int applied = -1;

    private Nd4jThreads() {
    }

    static void apply(int threads) {
        if (threads == applied) {
            return;
        }
        synchronized (Nd4jThreads.class) {
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.getEnvironment().setMaxThreads(threads);
            NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
            applied = threads;
        }
    }
}
