package io.whetstone.models.kernels;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * c = alpha op(a) op(b) + beta c for the sampler's small 2-D fp32 products, split by rows of c over
 * {@code threads} Java threads, each calling OpenBLAS's {@code cblas_sgemm} on one thread.
 *
 * <p>Why by hand: a decode step makes per layer four small products of [rows, C] (rows = the decode batch), and
 * through {@code Nd4j.gemm} (ND4J's Mmul op) the op's fixed cost is a large part of each (measurements in the
 * README, Benchmark). OpenBLAS's own threads are not used: the library is a pthreads build whose workers spin
 * after each call and slow the Java kernels that follow; so it is set to one thread (a process-wide OpenBLAS
 * setting; nothing else in whetstone calls it) and the rows are split here. Each element of c is one
 * single-threaded dot product over all of k, so results do not depend on the split. The training engine keeps
 * {@code Nd4j.gemm}: at its larger products the op's cost is small and the direct call was no faster.
 *
 * <p>The direct call is taken on ND4J's CPU backend for fp32 matrices whose rows or columns are contiguous;
 * anything else goes to {@code Nd4j.gemm}, which {@code GemmTest} compares this with.
 */
public final class Gemm {

    private static final boolean CPU = KernelChoice.cpuBackend();

    private Gemm() {
    }

    /** c [m, n] = alpha op(a) [m, k] op(b) [k, n] + beta c, op transposing where asked. */
    public static void gemm(INDArray a, INDArray b, INDArray c, boolean transA, boolean transB, double alpha,
                            double beta, int threads) {
        Layout la = Layout.of(a);
        Layout lb = Layout.of(b);
        Layout lc = Layout.of(c);
        if (!CPU || la == null || lb == null || lc == null || !lc.rowMajor()) {
            Nd4j.gemm(a, b, c, transA, transB, alpha, beta);
            return;
        }
        long m = transA ? a.size(1) : a.size(0);
        long k = transA ? a.size(0) : a.size(1);
        long kb = transB ? b.size(1) : b.size(0);
        long n = transB ? b.size(0) : b.size(1);
        if (k != kb || c.size(0) != m || c.size(1) != n) {
            throw new IllegalArgumentException("gemm shapes do not agree: op(a) " + m + "x" + k + ", op(b) " + kb
                    + "x" + n + ", c " + c.size(0) + "x" + c.size(1));
        }
        // a column-major operand is the row-major transpose of itself: flip its flag
        boolean ta = transA == la.rowMajor();
        boolean tb = transB == lb.rowMajor();
        RowPools.run(threads, (int) m, n * k, (start, end) -> {
            FloatBuffer aRows = la.buffer().duplicate();
            aRows.position(ta ? start : start * la.ld()); // rows of op(a): columns of a stored transposed
            FloatBuffer cRows = lc.buffer().duplicate();
            cRows.position(start * lc.ld());
            Direct.sgemm(ta, tb, end - start, (int) n, (int) k, (float) alpha, aRows.slice(), la.ld(),
                    lb.buffer(), lb.ld(), (float) beta, cRows.slice(), lc.ld());
        });
    }

    /**
     * A matrix's memory from its first element: row-major (rows contiguous, {@code ld} apart) or column-major;
     * null when it is neither, or not fp32.
     */
    private record Layout(FloatBuffer buffer, int ld, boolean rowMajor) {

        static Layout of(INDArray x) {
            if (x.rank() != 2 || x.dataType() != DataType.FLOAT || x.length() == 0) {
                return null;
            }
            long rows = x.size(0);
            long cols = x.size(1);
            long s0 = x.stride(0);
            long s1 = x.stride(1);
            long ld;
            boolean rowMajor;
            if ((cols == 1 || s1 == 1) && (rows == 1 || s0 >= cols)) {
                ld = rows == 1 ? cols : s0;
                rowMajor = true;
            } else if ((rows == 1 || s0 == 1) && (cols == 1 || s1 >= rows)) {
                ld = cols == 1 ? rows : s1;
                rowMajor = false;
            } else {
                return null;
            }
            if (ld > Integer.MAX_VALUE / 2 || x.offset() > Integer.MAX_VALUE) {
                return null;
            }
            FloatBuffer buffer = x.data().asNioFloat();
            buffer.position((int) x.offset());
            return new Layout(buffer.slice(), (int) Math.max(1, ld), rowMajor);
        }
    }

    /** The call into OpenBLAS, in its own class so that a backend without it never loads it. */
    private static final class Direct {

        static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, int lda,
                          FloatBuffer b, int ldb, float beta, FloatBuffer c, int ldc) {
            if (org.bytedeco.openblas.global.openblas_nolapack.blas_get_num_threads() != 1) {
                org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads(1);
            }
            int noTrans = org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
            int trans = org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
            org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm(
                    org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor, transA ? trans : noTrans,
                    transB ? trans : noTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }
}
