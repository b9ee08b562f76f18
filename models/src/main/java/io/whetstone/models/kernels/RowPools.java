package io.whetstone.models.kernels;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Row-parallel loops for the sampler, on one pool per thread count shared by the whole process (daemon threads,
 * as the kernels' own pools). {@link Gemm} splits its products over the same pools, so a sampler's GEMMs and its
 * attention never hold more than {@code threads} threads between them.
 */
public final class RowPools {

    /** The body of one chunk of rows: [start, end). */
    @FunctionalInterface
    public interface Body {
        void run(int start, int end);
    }

    private static final Map<Integer, RowParallel> POOLS = new ConcurrentHashMap<>();

    private RowPools() {
    }

    private static RowParallel pool(int threads) {
        return POOLS.computeIfAbsent(Math.max(1, threads),
                count -> new RowParallel(count, RowParallel.DEFAULT_MIN_PARALLEL_WORK));
    }

    /**
     * Runs {@code body} over [0, rows) in up to {@code threads} contiguous chunks, the caller running one; below
     * about 32K elements of work ({@code rows * rowWork}) on the caller alone.
     */
    public static void run(int threads, int rows, long rowWork, Body body) {
        pool(threads).run(rows, rowWork, (chunk, start, end) -> body.run(start, end));
    }
}
