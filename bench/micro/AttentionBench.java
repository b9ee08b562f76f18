// The fused CPU attention kernel, forward and backward, at the bench's A and B shapes (causal, fp32), in GFLOP/s of
// the causal work (4 * T(T+1)/2 * D multiply-adds per head forward, twice that backward).
// Run: mvn -q -o install -DskipTests && mvn -o -q -pl models dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
//      java --add-modules jdk.incubator.vector -cp models/target/classes:$(cat /tmp/cp.txt) bench/micro/AttentionBench.java 2
// (threads; a second argument, e.g. `2 A`, runs only A for 40 repetitions: A's kernels need longer to be compiled)
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import io.whetstone.models.kernels.AttentionShape;
import io.whetstone.models.kernels.FusedCpuKernels;

public class AttentionBench {
    public static void main(String[] a) {
        int threads = a.length > 0 ? Integer.parseInt(a[0]) : 2;
        FusedCpuKernels kernels = new FusedCpuKernels(threads);
        // name, batch, seq, heads, head size
        Object[][] cases = (a.length > 1 ? new Object[][] {{"A", 8, 128, 4, 32}} : new Object[][] {{"A", 8, 128, 4, 32}, {"B", 8, 256, 6, 64}});
        for (Object[] c : cases) {
            int b = (int) c[1], t = (int) c[2], h = (int) c[3], d = (int) c[4];
            AttentionShape shape = new AttentionShape(b, t, h, h, d);
            INDArray q = Nd4j.randn(DataType.FLOAT, b * h, t, d);
            INDArray k = Nd4j.randn(DataType.FLOAT, b * h, t, d);
            INDArray v = Nd4j.randn(DataType.FLOAT, b * h, t, d);
            INDArray dy = Nd4j.randn(DataType.FLOAT, b * h, t, d);
            INDArray probs = Nd4j.create(DataType.FLOAT, b * h, t, t);
            INDArray y = Nd4j.create(DataType.FLOAT, b * h, t, d);
            INDArray dq = Nd4j.create(DataType.FLOAT, b * h, t, d);
            INDArray dk = Nd4j.create(DataType.FLOAT, b * h, t, d);
            INDArray dv = Nd4j.create(DataType.FLOAT, b * h, t, d);
            double scale = 1 / Math.sqrt(d);
            double causalMacs = (double) b * h * t * (t + 1) / 2 * d;
            for (int rep = 0; rep < (a.length > 1 ? 40 : 8); rep++) {
                int n = 20;
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    kernels.attention(q, k, v, scale, shape, probs, y);
                }
                long t1 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    kernels.attentionBackward(q, k, v, probs, dy, scale, shape, dq, dk, dv);
                }
                long t2 = System.nanoTime();
                double fwd = (t1 - t0) / 1e6 / n, bwd = (t2 - t1) / 1e6 / n;
                System.out.printf("%s forward %.2f ms (%.1f GFLOP/s)  backward %.2f ms (%.1f GFLOP/s)  y[0]=%.6f dk[0]=%.6f%n",
                        c[0], fwd, 2 * 2 * causalMacs / fwd / 1e6, bwd, 2 * 4 * causalMacs / bwd / 1e6,
                        y.getFloat(0), dk.getFloat(0));
            }
        }
    }
}
