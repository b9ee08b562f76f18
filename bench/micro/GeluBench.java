// The fused CPU kernels' training GELU at the bench's A and B shapes (fp32): forward (biasGeluWithDerivative) and
// backward with the bias gradient (geluBackward), microseconds per call, medians of the second half of the runs.
// Run: mvn -q -o install -DskipTests && mvn -o -q -pl models dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
//      java --add-modules jdk.incubator.vector -cp models/target/classes:$(cat /tmp/cp.txt) bench/micro/GeluBench.java 2
// (threads). Four arrays of each kind are used in turn, so a call does not find its input in the cache of the last.
// Comparing two builds: run this against each one's classes, alternately, in separate processes.
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import io.whetstone.models.kernels.FusedCpuKernels;

public class GeluBench {
    public static void main(String[] a) {
        int threads = a.length > 0 ? Integer.parseInt(a[0]) : 2;
        FusedCpuKernels kernels = new FusedCpuKernels(threads);
        // name, rows (B * T), width (4C)
        Object[][] cases = {{"A", 1024, 512}, {"B", 2048, 1536}};
        int copies = 4;
        for (Object[] c : cases) {
            int rows = (int) c[1], cols = (int) c[2];
            INDArray[] pre = new INDArray[copies], out = new INDArray[copies], dy = new INDArray[copies];
            for (int k = 0; k < copies; k++) {
                pre[k] = Nd4j.randn(DataType.FLOAT, rows, cols);
                out[k] = Nd4j.create(DataType.FLOAT, rows, cols);
                dy[k] = Nd4j.randn(DataType.FLOAT, rows, cols);
            }
            INDArray bias = Nd4j.randn(DataType.FLOAT, cols).muli(0.01f);
            INDArray dBias = Nd4j.create(DataType.FLOAT, cols);
            int reps = 30, n = 40;
            double[] fwd = new double[reps], bwd = new double[reps];
            for (int rep = 0; rep < reps; rep++) {
                long f = 0, b = 0;
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    kernels.biasGeluWithDerivative(pre[i % copies], bias, out[i % copies]);
                    f += System.nanoTime() - t0;
                }
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    kernels.geluBackward(dy[i % copies], pre[i % copies], dy[i % copies], dBias);
                    b += System.nanoTime() - t0;
                }
                fwd[rep] = f / 1e3 / n;
                bwd[rep] = b / 1e3 / n;
            }
            Arrays.sort(fwd, reps / 2, reps);
            Arrays.sort(bwd, reps / 2, reps);
            double f = fwd[reps / 2 + reps / 4], b = bwd[reps / 2 + reps / 4];
            System.out.printf("%s %d x %d: forward %.0f us, backward with the bias gradient %.0f us, total %.0f us%n",
                    c[0], rows, cols, f, b, f + b);
        }
    }
}
