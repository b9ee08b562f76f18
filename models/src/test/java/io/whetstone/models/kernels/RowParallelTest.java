package io.whetstone.models.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class RowParallelTest {

    /** A pool whose helpers start only when the test says so: a pool thread still waiting for a core. */
    private static final class LatePool extends AbstractExecutorService {
        final List<Runnable> waiting = new ArrayList<>();

        @Override
        public void execute(Runnable command) {
            waiting.add(command);
        }

        void startAll() {
            waiting.forEach(Runnable::run);
            waiting.clear();
        }

        @Override
        public void shutdown() {
        }

        @Override
        public List<Runnable> shutdownNow() {
            return List.of();
        }

        @Override
        public boolean isShutdown() {
            return false;
        }

        @Override
        public boolean isTerminated() {
            return false;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return true;
        }
    }

    @Test
    void everyRowRunsOnceInFixedChunks() {
        try (RowParallel parallel = new RowParallel(3, 1)) {
            for (int rows : new int[] {2, 3, 7, 100}) {
                AtomicIntegerArray seen = new AtomicIntegerArray(rows);
                int[][] bounds = new int[3][];
                int chunks = parallel.run(rows, 1, (chunk, start, end) -> {
                    bounds[chunk] = new int[] {start, end};
                    for (int r = start; r < end; r++) {
                        seen.incrementAndGet(r);
                    }
                });
                assertEquals(Math.min(3, rows), chunks);
                for (int r = 0; r < rows; r++) {
                    assertEquals(1, seen.get(r), "row " + r + " of " + rows);
                }
                for (int c = 0; c < chunks; c++) {
                    assertArrayEquals(new int[] {rows * c / chunks, rows * (c + 1) / chunks}, bounds[c]);
                }
            }
        }
    }

    @Test
    void theCallerRunsChunksNoHelperHasStarted() {
        LatePool late = new LatePool();
        try (RowParallel parallel = new RowParallel(2, 1, late)) {
            Thread caller = Thread.currentThread();
            List<Integer> byCaller = new ArrayList<>();
            parallel.run(10, 1, (chunk, start, end) -> {
                assertSame(caller, Thread.currentThread());
                byCaller.add(chunk);
            });
            assertEquals(List.of(0, 1), byCaller, "both chunks ran on the caller while the helper waited");
            assertFalse(late.waiting.isEmpty());
            late.startAll(); // the helper starts late, finds nothing left, and returns
        }
    }

    @Test
    void aFailingChunkFailsTheCall() {
        try (RowParallel parallel = new RowParallel(2, 1)) {
            IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class,
                    () -> parallel.run(10, 1, (chunk, start, end) -> {
                        if (chunk == 1) {
                            throw new IllegalArgumentException("chunk 1");
                        }
                    }));
            assertEquals("chunk 1", thrown.getMessage());
            // the pool still works afterwards
            AtomicIntegerArray seen = new AtomicIntegerArray(4);
            parallel.run(4, 1, (chunk, start, end) -> seen.incrementAndGet(start));
            assertTrue(seen.get(0) == 1 && seen.get(2) == 1);
        }
    }
}
