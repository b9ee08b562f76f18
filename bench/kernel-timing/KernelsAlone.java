// Times GPT-2's memory-bound kernels alone at size A's shapes (per call, best of 20 repetitions of 40 calls), before
// and after BenchMain's training steps in the same JVM. A kernel much slower after than before was compiled from the
// step's profile into slower code (as GPT-2's GELU was); one as fast after as before but slower inside the step (the
// PROF lines) pays for cold data. Run through `bench/kernel-timing/run A gpt2 20 30 --kernels-alone`.
import io.whetstone.models.kernels.AttentionShape;
import io.whetstone.models.kernels.FusedCpuKernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

public class KernelsAlone {
    static INDArray r(long... shape) { return Nd4j.randn(DataType.FLOAT, shape); }

    static void time(String name, Runnable call) {
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 20; rep++) {
            long start = System.nanoTime();
            for (int i = 0; i < 40; i++) call.run();
            best = Math.min(best, (System.nanoTime() - start) / 40e3);
        }
        System.out.printf("ALONE %-8s %-24s %6.0f us a call%n", phase, name, best);
    }

    static String phase;

    static void alone(String label) {
        phase = label;
        int n = 1024, c = 128, f = 512;
        AttentionShape shape = new AttentionShape(8, 128, 4, 4, 32);
        try (FusedCpuKernels k = new FusedCpuKernels(2)) {
            INDArray x = r(n, c), y = r(n, c), out = r(n, c), dOut = r(n, c), dx = r(n, c);
            INDArray gamma = r(c), beta = r(c), mean = r(n), rstd = r(n).addi(3), dG = r(c), dB = r(c);
            INDArray pre = r(n, f), gout = r(n, f), dPre = r(n, f), dBf = r(f);
            INDArray qkv = r(n, 3 * c), bq = r(3 * c), q = r(8, 4, 128, 32), kk = r(8, 4, 128, 32), v = r(8, 4, 128, 32);
            time("layerNorm", () -> k.layerNorm(x, gamma, beta, 1e-5, out, mean, rstd));
            time("layerNormBackward", () -> k.layerNormBackward(dOut, x, gamma, mean, rstd, dx, dG, dB));
            time("addResidual", () -> k.addResidual(x, y, beta, out));
            time("biasGradient", () -> k.biasGradient(pre, dBf));
            time("biasGeluWithDerivative", () -> k.biasGeluWithDerivative(pre, dBf, gout));
            time("geluBackward", () -> k.geluBackward(gout, gout, dPre, dBf));
            time("splitHeads", () -> k.splitHeads(qkv, bq, null, shape, q, kk, v));
            time("splitHeadsBackward", () -> k.splitHeadsBackward(q, kk, v, null, shape, qkv));
            time("mergeHeads", () -> k.mergeHeads(q, shape, out));
            time("mergeHeadsBackward", () -> k.mergeHeadsBackward(dOut, shape, q));
        }
    }

    public static void main(String[] args) throws Exception {
        alone("before");
        io.whetstone.models.bench.BenchMain.main(args);
        alone("after");
    }
}
