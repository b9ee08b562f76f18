package io.whetstone.jobs.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SparkRuntimeTest {

    @Test
    void setupPluginIsAddedOnceToTheUsersPlugins() {
        String ours = Nd4jSetupPlugin.class.getName();
        assertEquals(ours, SparkRuntime.plugins(""));
        assertEquals("com.acme.Metrics," + ours, SparkRuntime.plugins("com.acme.Metrics"));
        assertEquals("com.acme.Metrics," + ours, SparkRuntime.plugins("com.acme.Metrics," + ours));
    }

    @Test
    void localCores() {
        assertEquals(3, SparkRuntime.localCores("local[3]"));
        assertEquals(2, SparkRuntime.localCores("local[2,4]"));
        assertEquals(Runtime.getRuntime().availableProcessors(), SparkRuntime.localCores("local[*]"));
    }
}
