package io.whetstone.models.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Splits a range of rows into contiguous chunks and runs them on a small fixed pool plus the calling
 * thread. Work below a threshold runs on the caller alone, since waking a thread costs more than it saves.
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
        this.minParallelWork = minParallelWork;
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, runnable -> {
            Thread thread = new Thread(runnable, "whetstone-kernel");
            thread.setDaemon(true);
            return thread;
        });
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
        List<Future<?>> futures = new ArrayList<>(chunks - 1);
        for (int chunk = 1; chunk < chunks; chunk++) {
            int id = chunk;
            int start = (int) ((long) rows * chunk / chunks);
            int end = (int) ((long) rows * (chunk + 1) / chunks);
            futures.add(pool.submit(() -> body.run(id, start, end)));
        }
        body.run(0, 0, (int) ((long) rows / chunks));
        for (Future<?> future : futures) {
            try {
                future.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a kernel chunk", e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException runtime) {
                    throw runtime;
                }
                if (cause instanceof Error error) {
                    throw error;
                }
                throw new IllegalStateException(cause);
            }
        }
        return chunks;
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
