// Runs GPT-2's GELU forward alone (A's 1024 x 512, 800 calls) before BenchMain's training steps in the same JVM, and
// alone again after them: the experiment behind FusedCpuKernels' GELU row methods (the kernel's speed inside the
// step depended on what HotSpot had compiled it from). Run through `bench/kernel-timing/run ... --warm-gelu-first`.
import io.whetstone.models.kernels.FusedCpuKernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

public class WarmGeluFirst {
    static void alone(String label) {
        try (FusedCpuKernels kernels = new FusedCpuKernels(2)) {
            INDArray[] pre = new INDArray[4];
            INDArray[] out = new INDArray[4];
            for (int k = 0; k < 4; k++) {
                pre[k] = Nd4j.randn(DataType.FLOAT, 1024, 512);
                out[k] = Nd4j.create(DataType.FLOAT, 1024, 512);
            }
            INDArray bias = Nd4j.randn(DataType.FLOAT, 512).muli(0.01f);
            double best = Double.MAX_VALUE;
            for (int rep = 0; rep < 20; rep++) {
                long start = System.nanoTime();
                for (int i = 0; i < 40; i++) {
                    kernels.biasGeluWithDerivative(pre[i % 4], bias, out[i % 4]);
                }
                best = Math.min(best, (System.nanoTime() - start) / 40e3);
            }
            System.out.printf("GELU forward alone %s: best %.0f us a call%n", label, best);
        }
    }

    public static void main(String[] args) throws Exception {
        alone("before the training steps");
        io.whetstone.models.bench.BenchMain.main(args);
        alone("after the training steps");
    }
}
