package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.config.ConfigLoader;
import io.whetstone.models.lora.LoraConfig;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

    private static final Logger LOG = LoggerFactory.getLogger(RunDirectory.class);

    /** Run directories this JVM created, until the command ends: see {@link #discardUnstarted()}. */
    private static final java.util.Queue<RunDirectory> CREATED = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** What {@link #open} writes: a directory holding nothing else has no results. */
    /** The date a run's chat template reads through strftime_now, fixed at the run's first start. */
    public static final String CHAT_TEMPLATE_DATE = "chat_template_date";

    private static final java.util.Set<String> OWN_FILES = java.util.Set.of("config.resolved.yaml", "metrics.jsonl",
            RunLog.FILE, CHAT_TEMPLATE_DATE);

    /** Creates {@code dir} (if needed) and writes {@code config}'s resolved form into it. */
    public static RunDirectory open(HadoopFiles files, String dir, Object config) {
        String path = files.qualify(dir);
        boolean existed = files.exists(new Path(path));
        files.mkdirs(new Path(path));
        RunLog.attach(files, path);
        files.writeBytes(new Path(path, "config.resolved.yaml"),
                ConfigLoader.toYaml(config).getBytes(StandardCharsets.UTF_8));
        RunDirectory directory = new RunDirectory(path, files, new CheckpointStore(files, path),
                new MetricsLog(files, path), ConfigLoader.resolvedTree(config));
        if (!existed) {
            CREATED.add(directory);
        }
        return directory;
    }

    /**
     * After a failed command: removes each run directory the command created that holds nothing but what
     * {@link #open} wrote (no checkpoint, rejects, table or log of work), so a run refused for a bad config or bad
     * data leaves no half-made directory behind. Directories that existed before, or hold results, are kept.
     *
     * @return the directories removed
     */
    public static List<String> discardUnstarted() {
        List<String> removed = new java.util.ArrayList<>();
        for (RunDirectory directory; (directory = CREATED.poll()) != null; ) {
            try {
                org.apache.hadoop.fs.FileSystem fs = directory.files().fs(new Path(directory.path()));
                boolean onlyOwn = java.util.Arrays.stream(fs.listStatus(new Path(directory.path())))
                        .map(status -> status.getPath().getName().replaceFirst("^\\.(.*)\\.crc$", "$1"))
                        .allMatch(OWN_FILES::contains);
                if (onlyOwn && fs.delete(new Path(directory.path()), true)) {
                    removed.add(directory.path());
                }
            } catch (java.io.IOException | RuntimeException e) {
                LOG.warn("cannot tidy {}: {}", directory.path(), e.getMessage());
            }
        }
        return removed;
    }

    /** Forgets the directories this command created (it succeeded: they stay). */
    public static void keepCreated() {
        CREATED.clear();
    }

    /**
     * Records in {@code config.resolved.yaml} (and so in the checkpoints) the architecture of a model loaded from
     * {@code model.init}, in place of the {@code model.*} architecture keys, which only a model trained from scratch
     * uses: a fine-tuned GGUF model was recorded with the defaults (family gpt2, width 128).
     */
    public void recordLoadedModel(io.whetstone.models.ModelConfig model) {
        if (!(resolved.path("model") instanceof com.fasterxml.jackson.databind.node.ObjectNode section)
                || "scratch".equals(section.path("init").asText())) {
            return;
        }
        section.put("family", model.family().name().toLowerCase(java.util.Locale.ROOT));
        section.put("width", model.width());
        section.put("layers", model.layers());
        section.put("heads", model.heads());
        section.put("kv_heads", model.kvHeads());
        section.put("ffn_hidden", model.ffnHidden());
        section.put("max_seq_len", model.maxSeqLen());
        files.writeBytes(new Path(path, "config.resolved.yaml"), ConfigLoader.toYaml(resolved)
                .getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The checkpoint to continue from ({@link CheckpointStore#resume}), checked against this run's config: a change
     * a run under way cannot take (the model, tokenizer, adapters, data, reference or algorithm) is refused, naming
     * each key, and {@code config.resolved.yaml} goes back to the config the checkpoints were trained with; the
     * other changes (schedule, rounds, cadence) apply from the resumed round, each logged and recorded in the
     * metrics as a {@code config_changed} event.
     */
    public Optional<CheckpointStore.Loaded> resume(String mode, LoraConfig lora) {
        Optional<CheckpointStore.Loaded> loaded = checkpoints.resume(mode, lora);
        if (loaded.isEmpty() || !loaded.get().trainerState().has("config")) {
            return loaded;
        }
        JsonNode before = loaded.get().trainerState().get("config");
        ConfigChanges changes = ConfigChanges.between(before, resolved);
        if (!changes.refused().isEmpty()) {
            files.writeBytes(new Path(path, "config.resolved.yaml"),
                    ConfigLoader.toYaml(before).getBytes(StandardCharsets.UTF_8));
            throw new ConfigException(path + " holds a run trained with another config; a resumed run cannot "
                    + "change:\n  " + changes.refused().stream().map(Object::toString)
                    .collect(Collectors.joining("\n  ")) + "\nuse a new run.dir, or checkpoint.resume=none to "
                    + "train this one again from the start");
        }
        if (!changes.applied().isEmpty()) {
            LOG.warn("Resuming {} with a changed config, applied from round {} on: {}", loaded.get().path(),
                    loaded.get().round() + 1, changes.applied());
            List<Map<String, String>> list = changes.applied().stream()
                    .map(c -> Map.of("key", c.key(), "before", c.before(), "now", c.now())).toList();
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("event", "config_changed");
            event.put("from_round", loaded.get().round() + 1);
            event.put("changes", list);
            metrics.append(event);
        }
        return loaded;
    }
}
