package io.whetstone.models.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class NativeGarbageTest {

    private static final long MB = 1L << 20;

    @Test
    void collectsPastTheHeadroomAndMovesTheThresholdToWhatStays() {
        AtomicLong resident = new AtomicLong(1000 * MB);
        AtomicLong collections = new AtomicLong();
        NativeGarbage watch = new NativeGarbage(resident::get, collections::incrementAndGet, 300 * MB, 0.5);
        assertEquals(1500 * MB, watch.threshold()); // 1000 + max(300, 500)

        resident.set(1500 * MB);
        assertFalse(watch.check());
        resident.set(1501 * MB);
        assertTrue(watch.check());
        assertEquals(1, collections.get());

        // the next check measures what stayed: 400 MB, so the next collection comes at 400 + max(300, 200)
        resident.set(400 * MB);
        assertFalse(watch.check());
        assertEquals(700 * MB, watch.threshold());
        resident.set(650 * MB);
        assertFalse(watch.check());
        assertEquals(1, watch.collections());

        // memory the allocator keeps after a collection raises the baseline: no collection in a loop
        resident.set(2000 * MB);
        assertTrue(watch.check());
        assertFalse(watch.check());
        assertEquals(3000 * MB, watch.threshold());
        assertFalse(watch.check());
        assertEquals(2, collections.get());
    }

    @Test
    void deadNd4jBuffersAreFreedByItsCollections() throws InterruptedException {
        Nd4j.create(DataType.FLOAT, 4); // load ND4J before the baseline
        System.gc();
        Thread.sleep(NativeGarbage.PERIOD_MS);
        long start = Pointer.physicalBytes();
        NativeGarbage watch = new NativeGarbage(Pointer::physicalBytes, System::gc, 256 * MB, 0);
        long peak = start;
        for (int i = 0; i < 48; i++) { // 1.5 GB allocated and dropped, 32 MB at a time
            Nd4j.create(DataType.FLOAT, 8L << 20).addi(1);
            peak = Math.max(peak, Pointer.physicalBytes());
            if (watch.check()) {
                Thread.sleep(NativeGarbage.PERIOD_MS);
                watch.check();
            }
        }
        assertTrue(watch.collections() >= 2, "collections: " + watch.collections());
        long growth = (peak - start) / MB;
        assertTrue(growth < 900, "resident set grew by " + growth + " MB with 1536 MB dropped");
    }
}
