package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.jobs.config.ConfigLoader;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.fs.Path;

/**
 * A training job's run directory, opened the same way by every job: created, the resolved config written
 * into it ({@code config.resolved.yaml}), its checkpoint store (resume, cadence of writes, pruning) and its
 * metrics log.
 *
 * @param path the qualified directory
 * @param files the file system it lives on
 * @param checkpoints its checkpoint store
 * @param metrics its {@code metrics.jsonl}
 * @param resolved the resolved config, as written (checkpoints record it)
 */
public record RunDirectory(String path, HadoopFiles files, CheckpointStore checkpoints, MetricsLog metrics,
                           JsonNode resolved) {

    /** Creates {@code dir} (if needed) and writes {@code config}'s resolved form into it. */
    public static RunDirectory open(HadoopFiles files, String dir, Object config) {
        String path = files.qualify(dir);
        files.mkdirs(new Path(path));
        files.writeBytes(new Path(path, "config.resolved.yaml"),
                ConfigLoader.toYaml(config).getBytes(StandardCharsets.UTF_8));
        return new RunDirectory(path, files, new CheckpointStore(files, path), new MetricsLog(files, path),
                ConfigLoader.resolvedTree(config));
    }
}
