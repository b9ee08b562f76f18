package io.whetstone.models.bench;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.TensorSpec;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.optim.AdamW;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Times full training steps (forward, masked cross-entropy, backward, AdamW with clipping) and forward
 * passes of one model size, after warm-up, and measures the machine's fp32 GEMM peak in the same run.
 */
public final class Benchmark {

    private final BenchShape shape;
    private final Family family;
    private final EngineOptions options;
    private final int warmup;
    private final int steps;

    public Benchmark(BenchShape shape, Family family, EngineOptions options, int warmup, int steps) {
        if (steps < 1 || warmup < 0) {
            throw new IllegalArgumentException("need steps >= 1 and warmup >= 0, got " + steps + ", " + warmup);
        }
        this.shape = shape;
        this.family = family;
        this.options = options;
        this.warmup = warmup;
        this.steps = steps;
    }

    public BenchResult run() {
        ModelConfig config = shape.model(family);
        TokenBatch batch = randomBatch(config, shape.batch, shape.seqLen, 1234);
        double[] stepMs = new double[steps];
        double[] forwardMs = new double[steps];
        double lossFirst;
        double lossLast = Double.NaN;
        try (Transformer model = new Transformer(config, options)) {
            model.initialize(1);
            AdamW optimizer = new AdamW(model.parameters(), model.kernels(), AdamWConfig.defaults());
            Trainer trainer = new Trainer(model, new MaskedCrossEntropy(), optimizer, LrSchedule.constant(1e-4));
            lossFirst = trainer.step(List.of(batch)).loss();
            for (int i = 1; i < warmup; i++) {
                trainer.step(List.of(batch));
            }
            for (int i = 0; i < steps; i++) {
                long start = System.nanoTime();
                lossLast = trainer.step(List.of(batch)).loss();
                stepMs[i] = (System.nanoTime() - start) / 1e6;
            }
            for (int i = 0; i < steps; i++) {
                long start = System.nanoTime();
                model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
                forwardMs[i] = (System.nanoTime() - start) / 1e6;
            }
            KernelChoice resolved = options.kernels().resolve(options.dataType());
            double step = median(stepMs);
            double gemm = gemmPeakGflops();
            long params = model.parameters().layout().length();
            long matmulParams = matmulParams(config, model.parameters().layout());
            double flops = 6.0 * matmulParams * shape.batch * shape.seqLen
                    + 12.0 * config.layers() * config.width() * (double) shape.seqLen * shape.seqLen * shape.batch;
            double mfu = flops / (step / 1e3) / (gemm * 1e9);
            return new BenchResult(shape.name(), family.id(), resolved.name().toLowerCase(), options.threads(), params,
                    matmulParams, step, Arrays.stream(stepMs).min().orElseThrow(),
                    shape.batch * shape.seqLen / (step / 1e3), gemm, mfu, median(forwardMs), peakRssMb(), lossFirst,
                    lossLast);
        }
    }

    /** Parameters used in matrix multiplies: all but lookup-only tables. */
    static long matmulParams(ModelConfig config, ParameterLayout layout) {
        long total = 0;
        for (TensorSpec spec : layout.tensors()) {
            boolean lookupOnly = spec.name().equals("wpe.weight")
                    || (spec.name().equals("embed") && !config.tiedEmbeddings());
            if (!lookupOnly) {
                total += spec.length();
            }
        }
        return total;
    }

    static TokenBatch randomBatch(ModelConfig config, int batch, int seqLen, long seed) {
        Random random = new Random(seed);
        int n = batch * seqLen;
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = random.nextInt(config.vocabSize());
        }
        int[] targets = new int[n];
        float[] mask = new float[n];
        for (int i = 0; i < n; i++) {
            boolean last = (i + 1) % seqLen == 0;
            targets[i] = last ? random.nextInt(config.vocabSize()) : tokens[i + 1];
            mask[i] = 1f;
        }
        return new TokenBatch(tokens, targets, mask, batch, seqLen);
    }

    /** Best of several 2048^3 fp32 GEMMs through ND4J, in GFLOP/s. */
    public static double gemmPeakGflops() {
        int n = 2048;
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.create(DataType.FLOAT, n, n);
        double best = 0;
        for (int i = 0; i < 6; i++) {
            long start = System.nanoTime();
            Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
            double seconds = (System.nanoTime() - start) / 1e9;
            best = Math.max(best, 2.0 * n * n * n / seconds / 1e9);
        }
        return best;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /** Peak resident set size of this process (VmHWM), in MB; NaN where /proc is missing. */
    static double peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
