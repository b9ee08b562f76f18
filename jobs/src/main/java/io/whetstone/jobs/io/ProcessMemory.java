package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Where this JVM's memory is: peak and current resident set (Linux {@code /proc/self/status}: VmHWM, VmRSS), the
 * Java heap in use and committed (the rest of the resident set is native: ND4J's buffers, which its CPU backend
 * does not count anywhere readable, JavaCPP's and the JVM's own). In local mode the executors run in this JVM,
 * so a pipeline reports it per stage (pipeline.json); the peak is reset between stages (Linux's {@code /proc/self/clear_refs}).
 */
public final class ProcessMemory {

    private static final long MB = 1L << 20;

    private ProcessMemory() {
    }

    /** The readings in MB (-1 where the platform has none). */
    public static ObjectNode snapshot() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("peak_rss_mb", status("VmHWM"));
        node.put("rss_mb", status("VmRSS"));
        Runtime runtime = Runtime.getRuntime();
        node.put("heap_used_mb", (runtime.totalMemory() - runtime.freeMemory()) / MB);
        node.put("heap_committed_mb", runtime.totalMemory() / MB);
        node.put("heap_max_mb", runtime.maxMemory() / MB);
        return node;
    }

    /** The readings as flat metrics keys (peak_rss_mb, rss_mb, heap_used_mb, heap_committed_mb), added to {@code line}. */
    public static void addTo(Map<String, Object> line) {
        ObjectNode node = snapshot();
        for (String key : List.of("peak_rss_mb", "rss_mb", "heap_used_mb", "heap_committed_mb")) {
            line.put(key, node.get(key).asLong());
        }
    }

    /** Starts a new peak from the current resident set (no-op where the kernel does not allow it). */
    public static void resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // not Linux, or not permitted: the peak stays the process's
        }
    }

    private static long status(String field) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
            for (String line : lines) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024; // kB -> MB
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
