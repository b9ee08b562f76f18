package io.whetstone.jobs.spark;

import io.whetstone.models.engine.NativeBuild;
import java.util.Map;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Picks each executor's ND4J CPU build for the CPU it runs on ({@link NativeBuild}) when the executor starts,
 * before any task touches ND4J: a cluster may mix hosts with and without AVX-512. {@link SparkRuntime} registers it
 * in {@code spark.plugins}.
 */
public final class NativeBuildPlugin implements SparkPlugin {

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
            }
        };
    }
}
