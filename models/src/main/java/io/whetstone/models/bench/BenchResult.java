package io.whetstone.models.bench;

import java.util.Locale;

/**
 * One benchmark line. {@code mfu} = FLOPs per step / step time / {@code gemmGflops}, with FLOPs per
 * step = 6*N*B*T + 12*L*C*T*T*B and N the parameters that take part in matrix multiplies (all but
 * GPT-2's position table and Llama's untied input embedding, which are only looked up). {@code msPerStep} is the
 * median of the timed steps, {@code msPerStepMin} the fastest: on a shared machine the least disturbed.
 */
public record BenchResult(String config, String family, String kernels, int threads, long params,
                          long matmulParams, double msPerStep, double msPerStepMin, double tokensPerS,
                          double gemmGflops, double mfu, double forwardMs, double peakRssMb, double lossFirst,
                          double lossLast) {

    /** One JSON object on one line. */
    public String toJson() {
        return String.format(Locale.ROOT,
                "{\"config\": \"%s\", \"family\": \"%s\", \"engine\": \"whetstone\", \"kernels\": \"%s\", "
                        + "\"threads\": %d, \"params\": %d, \"ms_per_step\": %.1f, \"ms_per_step_min\": %.1f, "
                        + "\"tokens_per_s\": %.1f, "
                        + "\"gemm_gflops\": %.1f, \"mfu\": %.3f, \"forward_ms\": %.1f, \"peak_rss_mb\": %.0f, "
                        + "\"loss_first\": %.4f, \"loss_last\": %.4f}",
                config, family, kernels, threads, params, msPerStep, msPerStepMin, tokensPerS, gemmGflops, mfu,
                forwardMs, peakRssMb, lossFirst, lossLast);
    }
}
