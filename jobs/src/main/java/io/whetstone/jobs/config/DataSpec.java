package io.whetstone.jobs.config;

import java.util.Set;

/**
 * The training corpus: see {@link io.whetstone.datasets.spark.CorpusSpec}. {@code cacheDir} empty means
 * {@code _cache} beside the run directory, so nightly runs with dated run directories share it.
 */
public record DataSpec(String path, String format, String container, String validation, int seqLen, boolean packing,
                       String truncation, String cacheDir, java.util.Map<String, String> columns) {

    public DataSpec {
        Checks.require(path != null && !path.isBlank(), "data.path must be set (a file, directory or glob)");
        format = Checks.oneOf("data.format", format, Set.of("prompt_completion", "messages", "gsm8k"));
        container = Checks.oneOf("data.container", container, Set.of("auto", "jsonl", "parquet"));
        validation = Checks.oneOf("data.validation", validation, Set.of("strict", "lenient"));
        truncation = Checks.oneOf("data.truncation", truncation, Set.of("error", "truncate"));
        Checks.require(seqLen >= 2, "data.seq_len must be >= 2, got " + seqLen);
        cacheDir = cacheDir == null ? "" : cacheDir;
        columns = columns == null ? java.util.Map.of() : java.util.Map.copyOf(columns);
    }
}
