package io.whetstone.jobs.cli;

import io.whetstone.models.Family;
import io.whetstone.models.bench.BenchMain;
import io.whetstone.models.bench.BenchShape;
import io.whetstone.models.kernels.KernelChoice;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code whetstone bench}: times training steps of model sizes A, B, C in both families and prints one
 * JSON object per line. Each (size, family) runs in a fresh JVM so that peak RSS is its own.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmark training steps (forward, backward, AdamW) of model sizes A, B, C.",
                "Prints one JSON object per line: config, family, ms_per_step (median), ms_per_step_min (fastest),",
                "tokens_per_s, gemm_gflops, mfu, forward_ms, peak_rss_mb.",
                "Sizes (V vocab, C width, L layers, H heads, T seq, B batch):",
                "  A: V=512 C=128 L=4 H=4 T=128 B=8   B: V=8192 C=384 L=6 H=6 T=256 B=8",
                "  C: V=50304 C=768 L=12 H=12 T=128 B=4",
                "Compare with PyTorch side by side: bench/compare (see README)."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--configs", split = ",", defaultValue = "A,B,C", description = "sizes to run (default: ${DEFAULT-VALUE})")
    List<String> configs;

    @Option(names = "--family", defaultValue = "both", description = "gpt2, llama or both (default: ${DEFAULT-VALUE})")
    String family;

    @Option(names = "--threads", description = "threads for ND4J and the kernels (default: available cores)")
    Integer threads;

    @Option(names = "--kernels", defaultValue = "auto", description = "auto, fused_cpu, nd4j (default: ${DEFAULT-VALUE})")
    String kernels;

    @Option(names = "--warmup", defaultValue = "20", description = "untimed steps first; the JIT compiles the kernels during these (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--steps", defaultValue = "10", description = "timed steps; the median and the fastest are reported (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--generate", description = "time KV-cache sampling instead: 8 prompts of 32 tokens, 64 new tokens each")
    boolean generate;

    @Option(names = "--samples", defaultValue = "1", description = "with --generate: samples per prompt, sharing the "
            + "prompt's prefilled cache (default: ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--lora-0.5b", description = "run the 0.5B-scale check instead: a random model of Qwen2.5-0.5B's "
            + "shape, LoRA rank 8 on all projections, --steps timed steps on one sequence of --seq-len tokens, then "
            + "sampling (peer: bench/peer_lora_torch.py)")
    boolean loraScale;

    @Option(names = "--frozen-dtype", defaultValue = "float32", description = "with --lora-0.5b: how the frozen base "
            + "is kept: float32, bfloat16 or float16 (default: ${DEFAULT-VALUE})")
    String frozenDtype;

    @Option(names = "--seq-len", defaultValue = "512", description = "with --lora-0.5b: tokens per step "
            + "(default: ${DEFAULT-VALUE})")
    int seqLen;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (loraScale) {
            int threadCount = threads != null ? threads : Runtime.getRuntime().availableProcessors();
            io.whetstone.models.engine.FrozenDtype.parse(frozenDtype); // refused here, before the child starts
            return runChild(threadCount, List.of("lora-0.5b", Integer.toString(threadCount), Integer.toString(steps),
                    Integer.toString(seqLen), frozenDtype));
        }
        List<Family> families = family.equalsIgnoreCase("both") ? List.of(Family.GPT2, Family.LLAMA)
                : List.of(Family.parse(family));
        KernelChoice.parse(kernels);
        int threadCount = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        for (String config : configs) {
            BenchShape shape = BenchShape.parse(config);
            for (Family f : families) {
                int code = runChild(shape, f, threadCount);
                if (code != 0) {
                    System.err.println("bench " + shape + " " + f.id() + " failed with exit code " + code);
                    return code;
                }
            }
        }
        return 0;
    }

    /** One (size, family) in a child JVM with this JVM's classpath and the engine's JVM flags. */
    private int runChild(BenchShape shape, Family f, int threadCount) throws IOException, InterruptedException {
        List<String> arguments = new ArrayList<>(List.of(shape.name(), f.id(), Integer.toString(threadCount)));
        if (generate) {
            arguments.addAll(List.of("generate", Integer.toString(samples)));
        } else {
            arguments.addAll(List.of(kernels, Integer.toString(warmup), Integer.toString(steps)));
        }
        return runChild(threadCount, arguments);
    }

    /** {@link BenchMain} with {@code arguments} in a child JVM; its JSON lines are printed. */
    private int runChild(int threadCount, List<String> arguments) throws IOException, InterruptedException {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> command = new ArrayList<>(List.of(java,
                "--add-modules=jdk.incubator.vector",
                // The engine's data lives off-heap; a small heap and the serial collector keep the JVM's
                // own footprint near PyTorch's process size.
                "-Xmx1g", "-Xmn64m", "-XX:+UseSerialGC",
                "-Dorg.bytedeco.javacpp.maxbytes=16G", "-Dorg.bytedeco.javacpp.maxphysicalbytes=20G",
                "-cp", System.getProperty("java.class.path"), BenchMain.class.getName()));
        command.addAll(arguments);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("OMP_NUM_THREADS", Integer.toString(threadCount));
        builder.environment().putIfAbsent("OMP_WAIT_POLICY", "passive");
        Process process = builder.start();
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.startsWith("{")) {
                    System.out.println(line);
                } else if (line.contains("Exception") || line.contains("Error") || line.startsWith("\tat ")) {
                    System.err.println(line);
                }
            }
        }
        return process.waitFor();
    }
}
