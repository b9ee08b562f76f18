package io.whetstone.jobs.distill;

import io.whetstone.jobs.rollout.SampleRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Rejection sampling's bookkeeping: which of a prompt's samples enter the corpus (verified, not empty, not a repeat
 * of one already kept, within the per-prompt limit, in sample order) and the statistics of the whole run. An empty
 * rationale (the teacher stopped at once) is never kept, whatever the verifier says: it is no training example, and
 * the corpus must pass the SFT reader's validation.
 * Pure and deterministic: the same samples give the same corpus.
 */
final class CorpusFilter {

    private final double minReward;
    private final int maxPerPrompt;
    private final boolean dedupe;

    CorpusFilter(double minReward, int maxPerPrompt, boolean dedupe) {
        this.minReward = minReward;
        this.maxPerPrompt = maxPerPrompt;
        this.dedupe = dedupe;
    }

    /** What the filter made of a run's samples. */
    record Result(List<SampleRecord> accepted, Map<String, Object> stats, List<Map<String, Object>> perPrompt) {
    }

    Result apply(List<SampleRecord> samples) {
        Map<Long, List<SampleRecord>> byPrompt = new TreeMap<>();
        for (SampleRecord s : samples) {
            byPrompt.computeIfAbsent(s.index(), k -> new ArrayList<>()).add(s);
        }
        List<SampleRecord> accepted = new ArrayList<>();
        List<Map<String, Object>> perPrompt = new ArrayList<>();
        long verified = 0;
        long failures = 0;
        long duplicates = 0;
        long overLimit = 0;
        long empty = 0;
        long truncated = 0;
        long promptsWithVerified = 0;
        TreeMap<Integer, Long> acceptedHistogram = new TreeMap<>();
        List<Integer> lengths = new ArrayList<>();
        for (List<SampleRecord> group : byPrompt.values()) {
            group.sort(Comparator.comparingInt(SampleRecord::sample));
            Set<String> seen = new HashSet<>();
            int groupVerified = 0;
            int groupAccepted = 0;
            int groupDuplicates = 0;
            for (SampleRecord s : group) {
                if (s.finish().equals("length")) {
                    truncated++;
                }
                if (s.failure() != null) {
                    failures++;
                    continue;
                }
                if (!(s.reward() >= minReward)) {
                    continue;
                }
                groupVerified++;
                if (s.completion().isBlank()) {
                    empty++;
                    continue;
                }
                if (dedupe && !seen.add(normalise(s.completion()))) {
                    groupDuplicates++;
                    continue;
                }
                if (maxPerPrompt > 0 && groupAccepted >= maxPerPrompt) {
                    overLimit++;
                    continue;
                }
                groupAccepted++;
                accepted.add(s);
                lengths.add(s.tokens());
            }
            verified += groupVerified;
            duplicates += groupDuplicates;
            if (groupVerified > 0) {
                promptsWithVerified++;
            }
            acceptedHistogram.merge(groupAccepted, 1L, Long::sum);
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("index", group.get(0).index());
            line.put("id", group.get(0).id());
            line.put("samples", group.size());
            line.put("verified", groupVerified);
            line.put("duplicates", groupDuplicates);
            line.put("accepted", groupAccepted);
            line.put("acceptance_rate", (double) groupVerified / group.size());
            perPrompt.add(line);
        }
        Map<String, Object> stats = new LinkedHashMap<>();
        long total = samples.size();
        stats.put("prompts", byPrompt.size());
        stats.put("samples", total);
        stats.put("verified", verified);
        stats.put("teacher_accuracy", total - failures == 0 ? 0.0 : (double) verified / (total - failures));
        stats.put("prompts_with_a_verified_sample", promptsWithVerified);
        stats.put("prompt_coverage", byPrompt.isEmpty() ? 0.0 : (double) promptsWithVerified / byPrompt.size());
        stats.put("accepted", accepted.size());
        stats.put("duplicates_dropped", duplicates);
        stats.put("over_limit_dropped", overLimit);
        stats.put("empty_dropped", empty);
        stats.put("verifier_failures", failures);
        stats.put("truncated_samples", truncated);
        Map<String, Long> histogram = new LinkedHashMap<>();
        acceptedHistogram.forEach((k, v) -> histogram.put(String.valueOf(k), v));
        stats.put("prompts_by_accepted_count", histogram);
        stats.put("rationale_tokens", lengthStats(lengths));
        return new Result(accepted, stats, perPrompt);
    }

    /** Repeats are compared with whitespace collapsed. */
    static String normalise(String completion) {
        return completion.strip().replaceAll("\\s+", " ");
    }

    private static Map<String, Object> lengthStats(List<Integer> lengths) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (lengths.isEmpty()) {
            out.put("count", 0);
            return out;
        }
        List<Integer> sorted = new ArrayList<>(lengths);
        sorted.sort(Integer::compare);
        double sum = 0;
        for (int length : sorted) {
            sum += length;
        }
        out.put("count", sorted.size());
        out.put("mean", sum / sorted.size());
        out.put("p50", sorted.get((sorted.size() - 1) / 2));
        out.put("p90", sorted.get((int) Math.floor(0.9 * (sorted.size() - 1))));
        out.put("max", sorted.get(sorted.size() - 1));
        return out;
    }
}
