package io.whetstone.jobs.config;

import java.util.List;
import java.util.Locale;

/** Where the corpus goes ({@code path}, any Hadoop path) and as what: jsonl, parquet or both. */
public record OutputSpec(String path, String format) {
    public OutputSpec {
        Checks.require(path != null && !path.isBlank(), "output.path must be set");
        format = format == null ? "" : format.trim().toLowerCase(Locale.ROOT);
        Checks.require(List.of("jsonl", "parquet", "both").contains(format),
                "output.format must be jsonl, parquet or both, got " + format);
    }

    public boolean jsonl() {
        return !format.equals("parquet");
    }

    public boolean parquet() {
        return !format.equals("jsonl");
    }
}
