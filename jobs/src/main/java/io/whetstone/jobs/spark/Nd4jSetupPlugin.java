package io.whetstone.jobs.spark;

import io.whetstone.models.engine.NativeBuild;
import io.whetstone.models.engine.NativeGarbage;
import java.util.Map;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Prepares ND4J on each executor when it starts, before any task touches ND4J: picks the CPU build for the CPU it
 * runs on ({@link NativeBuild}; a cluster may mix hosts with and without AVX-512) and, with Spark's GPU scheduling,
 * makes the GPU Spark assigned to the executor the only device ND4J's CUDA backend uses ({@link GpuDevice}); and
 * starts the watch that collects ND4J's dead native buffers ({@link NativeGarbage}).
 * {@link SparkRuntime} registers it in {@code spark.plugins}.
 */
public final class Nd4jSetupPlugin implements SparkPlugin {

    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext ctx, Map<String, String> extraConf) {
                NativeBuild.select();
                GpuDevice.select(ctx.resources());
                NativeGarbage.start();
            }
        };
    }
}
