package io.whetstone.models.kernels;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Splits a range of rows into contiguous chunks and runs them on a small fixed pool plus the calling
 * thread. Work below a threshold runs on the caller alone, since waking a thread costs more than it saves.
 *
 * <p>Chunks are claimed, not only assigned: the caller claims chunk 0 and helper i chunk i, as before (each core
 * keeps the rows it had in the kernel before, likely still in its cache; a version where any thread took any chunk
 * looked slower in three noisy pairs), and whoever finishes first then claims any chunk not yet started. The caller waits only for chunks already started: on a shared
 * machine a pool thread may wait a while for a core, and the caller then runs its chunk too instead of idling.
 * Which thread runs a chunk never changes a result: chunk boundaries depend on the row count and the number of
 * chunks only, and per-chunk partial results are indexed by chunk.
 */
final class RowParallel implements AutoCloseable {

    /** Default elements of work below which a call stays on one thread. */
    static final long DEFAULT_MIN_PARALLEL_WORK = 1L << 15;

    /** The body of one chunk: rows [start, end), numbered {@code chunk} in [0, chunks). */
    @FunctionalInterface
    interface ChunkBody {
        void run(int chunk, int start, int end);
    }

    private final int threads;
    private final long minParallelWork;
    private final ExecutorService pool;

    RowParallel(int threads, long minParallelWork) {
        this(threads, minParallelWork, threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, runnable -> {
            Thread thread = new Thread(runnable, "whetstone-kernel");
            thread.setDaemon(true);
            return thread;
        }));
    }

    /** As above on the given pool of {@code threads - 1} helpers (tests pass one that starts them late). */
    RowParallel(int threads, long minParallelWork, ExecutorService pool) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        this.minParallelWork = minParallelWork;
        this.threads = threads;
        this.pool = threads == 1 ? null : pool;
    }

    int threads() {
        return threads;
    }

    /** How many chunks {@link #run} will use for {@code rows} rows of {@code rowWork} elements each. */
    int chunks(int rows, long rowWork) {
        if (pool == null || rows < 2 || (long) rows * rowWork < minParallelWork) {
            return 1;
        }
        return Math.min(threads, rows);
    }

    /** Runs {@code body} over [0, rows) split into {@link #chunks} chunks; returns the number of chunks. */
    int run(int rows, long rowWork, ChunkBody body) {
        int chunks = chunks(rows, rowWork);
        if (chunks == 1) {
            body.run(0, 0, rows);
            return 1;
        }
        Claims claims = new Claims(rows, chunks, body);
        for (int helper = 1; helper < chunks; helper++) {
            int own = helper;
            pool.execute(() -> claims.runFrom(own));
        }
        claims.runFrom(0);
        claims.awaitAll();
        return chunks;
    }

    /** The chunks of one call, each run by whichever thread claims it first. */
    private static final class Claims {
        private final int rows;
        private final int chunks;
        private final ChunkBody body;
        private final AtomicIntegerArray claimed;
        private final CountDownLatch finished;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Claims(int rows, int chunks, ChunkBody body) {
            this.rows = rows;
            this.chunks = chunks;
            this.body = body;
            this.claimed = new AtomicIntegerArray(chunks);
            this.finished = new CountDownLatch(chunks);
        }

        /**
         * Runs chunk {@code own} if no one has claimed it, then every other chunk no one has claimed (a helper that
         * starts late finds none and returns at once).
         */
        void runFrom(int own) {
            runIfUnclaimed(own);
            for (int chunk = 0; chunk < chunks; chunk++) {
                runIfUnclaimed(chunk);
            }
        }

        private void runIfUnclaimed(int chunk) {
            if (!claimed.compareAndSet(chunk, 0, 1)) {
                return;
            }
            try {
                if (failure.get() == null) {
                    body.run(chunk, start(chunk), start(chunk + 1));
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                finished.countDown();
            }
        }

        private int start(int chunk) {
            return (int) ((long) rows * chunk / chunks);
        }

        /** Waits for every chunk, then rethrows the first failure. */
        void awaitAll() {
            try {
                finished.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a kernel chunk", e);
            }
            Throwable cause = failure.get();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            if (cause != null) {
                throw new IllegalStateException(cause);
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
