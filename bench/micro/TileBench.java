// The attention score product's register tile (8 query rows x one vector of keys, depth d) with its broadcast operand
// read from eight strided rows (as before 2026-12-03) and packed column by column (FusedCpuKernels.packTile's
// layout), single-threaded, in GFLOP/s. The README's "30 -> 72 GFLOP/s on one core" is `64 256`.
// Run: java --add-modules jdk.incubator.vector bench/micro/TileBench.java 64 256   (depth, keys; also 32 128)
import jdk.incubator.vector.*;

public class TileBench {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();

    static void tileTimesTransposed(float[] a, int aAt, int aStride, int depth, float[] bT, int bStride,
                                    int span, float[] out, int outAt, int outStride) {
        for (int c = 0; c < span; c += LANES) {
            FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0, acc4 = acc0, acc5 = acc0, acc6 = acc0, acc7 = acc0;
            for (int d = 0; d < depth; d++) {
                FloatVector b = FloatVector.fromArray(S, bT, d * bStride + c);
                int ad = aAt + d;
                acc0 = b.fma(FloatVector.broadcast(S, a[ad]), acc0);
                acc1 = b.fma(FloatVector.broadcast(S, a[ad + aStride]), acc1);
                acc2 = b.fma(FloatVector.broadcast(S, a[ad + 2 * aStride]), acc2);
                acc3 = b.fma(FloatVector.broadcast(S, a[ad + 3 * aStride]), acc3);
                acc4 = b.fma(FloatVector.broadcast(S, a[ad + 4 * aStride]), acc4);
                acc5 = b.fma(FloatVector.broadcast(S, a[ad + 5 * aStride]), acc5);
                acc6 = b.fma(FloatVector.broadcast(S, a[ad + 6 * aStride]), acc6);
                acc7 = b.fma(FloatVector.broadcast(S, a[ad + 7 * aStride]), acc7);
            }
            acc0.intoArray(out, outAt + c);
            acc1.intoArray(out, outAt + outStride + c);
            acc2.intoArray(out, outAt + 2 * outStride + c);
            acc3.intoArray(out, outAt + 3 * outStride + c);
            acc4.intoArray(out, outAt + 4 * outStride + c);
            acc5.intoArray(out, outAt + 5 * outStride + c);
            acc6.intoArray(out, outAt + 6 * outStride + c);
            acc7.intoArray(out, outAt + 7 * outStride + c);
        }
    }

    // a transposed: aT[d][8] (the tile's 8 rows of column d side by side)
    static void tileTimesTransposedPacked(float[] aT, int depth, float[] bT, int bStride, int span, float[] out, int outStride) {
        for (int c = 0; c < span; c += LANES) {
            FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0, acc4 = acc0, acc5 = acc0, acc6 = acc0, acc7 = acc0;
            for (int d = 0; d < depth; d++) {
                FloatVector b = FloatVector.fromArray(S, bT, d * bStride + c);
                int ad = d * 8;
                acc0 = b.fma(FloatVector.broadcast(S, aT[ad]), acc0);
                acc1 = b.fma(FloatVector.broadcast(S, aT[ad + 1]), acc1);
                acc2 = b.fma(FloatVector.broadcast(S, aT[ad + 2]), acc2);
                acc3 = b.fma(FloatVector.broadcast(S, aT[ad + 3]), acc3);
                acc4 = b.fma(FloatVector.broadcast(S, aT[ad + 4]), acc4);
                acc5 = b.fma(FloatVector.broadcast(S, aT[ad + 5]), acc5);
                acc6 = b.fma(FloatVector.broadcast(S, aT[ad + 6]), acc6);
                acc7 = b.fma(FloatVector.broadcast(S, aT[ad + 7]), acc7);
            }
            acc0.intoArray(out, c);
            acc1.intoArray(out, outStride + c);
            acc2.intoArray(out, 2 * outStride + c);
            acc3.intoArray(out, 3 * outStride + c);
            acc4.intoArray(out, 4 * outStride + c);
            acc5.intoArray(out, 5 * outStride + c);
            acc6.intoArray(out, 6 * outStride + c);
            acc7.intoArray(out, 7 * outStride + c);
        }
    }

    public static void main(String[] args) {
        int depth = Integer.parseInt(args[0]), span = Integer.parseInt(args[1]);
        float[] a = new float[8 * depth], aT = new float[8 * depth], bT = new float[depth * span], out = new float[8 * span];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat();
        for (int i = 0; i < bT.length; i++) bT[i] = r.nextFloat();
        for (int rep = 0; rep < 6; rep++) {
            int n = 200000;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) tileTimesTransposed(a, 0, depth, depth, bT, span, span, out, 0, span);
            long t1 = System.nanoTime();
            for (int i = 0; i < n; i++) tileTimesTransposedPacked(aT, depth, bT, span, span, out, span);
            long t2 = System.nanoTime();
            double flops = 2.0 * 8 * depth * span * n;
            System.out.printf("plain %.1f GFLOP/s  packed %.1f GFLOP/s%n", flops / (t1 - t0), flops / (t2 - t1));
        }
    }
}
