package io.whetstone.jobs.config;

import java.util.Set;

/**
 * A preference corpus: see {@link io.whetstone.datasets.spark.PreferenceSpec}. {@code format}: {@code paired}
 * ({@code prompt}, {@code chosen}, {@code rejected}) or {@code unpaired} ({@code prompt}, {@code completion},
 * {@code label}; KTO) or {@code implicit_prompt} ({@code chosen}, {@code rejected} as whole texts sharing their
 * prompt, as HH-RLHF). {@code cacheDir} empty means {@code _cache} beside the run directory. With
 * {@code divergenceWindow} > 0 a pair's loss counts its tokens only up to that many past the first token where
 * its completions differ (the shared beginning cancels in pairwise losses).
 */
public record PreferenceDataSpec(String path, String format, String container, String validation, int seqLen,
                                 String truncation, String cacheDir, int divergenceWindow,
                                 java.util.Map<String, String> columns) {

    public PreferenceDataSpec {
        Checks.require(path != null && !path.isBlank(), "data.path must be set (a file, directory or glob)");
        format = Checks.oneOf("data.format", format, Set.of("paired", "unpaired", "implicit_prompt"));
        container = Checks.oneOf("data.container", container, Set.of("auto", "jsonl", "parquet"));
        validation = Checks.oneOf("data.validation", validation, Set.of("strict", "lenient"));
        truncation = Checks.oneOf("data.truncation", truncation, Set.of("error", "truncate"));
        Checks.require(seqLen >= 2, "data.seq_len must be >= 2, got " + seqLen);
        cacheDir = cacheDir == null ? "" : cacheDir;
        columns = columns == null ? java.util.Map.of() : java.util.Map.copyOf(columns);
        Checks.require(divergenceWindow >= 0, "data.divergence_window must be >= 0 (0: whole completions), got "
                + divergenceWindow);
    }
}
