package io.whetstone.models.bench;

import io.whetstone.models.Family;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.FrozenDtype;
import io.whetstone.models.kernels.KernelChoice;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Runs one benchmark in this JVM and prints one JSON line. The CLI's {@code bench} starts one JVM per
 * config so that peak RSS is per config. Arguments: {@code CONFIG FAMILY THREADS KERNELS WARMUP STEPS}, or
 * {@code CONFIG FAMILY THREADS generate [SAMPLES]} for the KV-cache sampling benchmark (SAMPLES per prompt,
 * default 1), or {@code lora-0.5b THREADS STEPS SEQ} for the 0.5B-scale LoRA check ({@link LoraScaleBenchmark}).
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) {
        if (args.length >= 1 && args[0].equals("lora-0.5b")) {
            // lora-0.5b THREADS STEPS SEQ [FROZEN_DTYPE]
            System.out.println(LoraScaleBenchmark.run(Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                    Integer.parseInt(args[3]), args.length > 4 ? FrozenDtype.parse(args[4]) : DataType.FLOAT));
            return;
        }
        if ((args.length == 4 || args.length == 5) && args[3].equals("generate")) {
            BenchShape shape = BenchShape.parse(args[0]);
            EngineOptions options = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, Integer.parseInt(args[2]));
            int samples = args.length == 5 ? Integer.parseInt(args[4]) : 1;
            System.out.println(new GenerationBenchmark(shape, Family.parse(args[1]), options, 8, 32, 64, 7, samples)
                    .run());
            return;
        }
        if (args.length != 6) {
            throw new IllegalArgumentException("usage: BenchMain CONFIG FAMILY THREADS KERNELS WARMUP STEPS"
                    + " | BenchMain CONFIG FAMILY THREADS generate [SAMPLES]");
        }
        BenchShape shape = BenchShape.parse(args[0]);
        Family family = Family.parse(args[1]);
        EngineOptions options = new EngineOptions(DataType.FLOAT, KernelChoice.parse(args[3]), Integer.parseInt(args[2]));
        BenchResult result = new Benchmark(shape, family, options, Integer.parseInt(args[4]),
                Integer.parseInt(args[5])).run();
        System.out.println(result.toJson());
    }
}
