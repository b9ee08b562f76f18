package io.whetstone.jobs.preference;

import io.whetstone.jobs.rollout.SampleRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Preference data from scored samples, per prompt: of the samples that scored without failure and finished
 * (stopped at the end token: one cut at the length limit would be trained as if it ended there, so it is
 * dropped unless {@code keepUnfinished}) with some text (an empty completion has nothing to train on), after dropping repeats of a
 * completion, {@code best_worst} pairs the highest- with the lowest-scored, {@code all_pairs} every
 * higher with every lower one (largest gaps first), both only where the gap is at least {@code minGap};
 * {@code unpaired} labels each completion desirable when it scores at least {@code desirableReward} (KTO).
 * At most {@code maxPerPrompt} pairs or completions per prompt (0: no limit). Ties go to the lower sample
 * index, so the output depends on the samples alone.
 */
public final class PairBuilder {

    /** How samples become preference data. */
    public enum Mode {
        BEST_WORST, ALL_PAIRS, UNPAIRED;

        public static Mode parse(String name) {
            return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        }
    }

    private final Mode mode;
    private final double minGap;
    private final int maxPerPrompt;
    private final double desirableReward;
    private final boolean keepUnfinished;

    public PairBuilder(Mode mode, double minGap, int maxPerPrompt, double desirableReward) {
        this(mode, minGap, maxPerPrompt, desirableReward, false);
    }

    public PairBuilder(Mode mode, double minGap, int maxPerPrompt, double desirableReward, boolean keepUnfinished) {
        if (!(minGap > 0) && mode != Mode.UNPAIRED) {
            throw new IllegalArgumentException("pairs.min_gap must be > 0 (a pair needs a preferred completion), got "
                    + minGap);
        }
        this.mode = mode;
        this.minGap = minGap;
        this.maxPerPrompt = maxPerPrompt;
        this.desirableReward = desirableReward;
        this.keepUnfinished = keepUnfinished;
    }

    /** A pair of completions of one prompt, or (unpaired) one labelled completion ({@code rejected} null). */
    public record Pair(SampleRecord chosen, SampleRecord rejected, boolean desirable) {

        public double gap() {
            return rejected == null ? Double.NaN : chosen.reward() - rejected.reward();
        }
    }

    /** The pairs and what was found. */
    public record Result(List<Pair> pairs, Map<String, Object> stats) {
    }

    public Result build(List<SampleRecord> samples) {
        Map<Long, List<SampleRecord>> byPrompt = new TreeMap<>();
        long failed = 0;
        long unfinished = 0;
        long empty = 0;
        long repeats = 0;
        for (SampleRecord sample : samples) {
            if (sample.failure() != null || Double.isNaN(sample.reward())) {
                failed++;
            } else if (!sample.stopped() && !keepUnfinished) {
                unfinished++;
            } else if (sample.completion().isBlank()) {
                empty++; // nothing to train on (the dpo job refuses an empty completion)
            } else {
                byPrompt.computeIfAbsent(sample.index(), k -> new ArrayList<>()).add(sample);
            }
        }
        List<Pair> pairs = new ArrayList<>();
        long promptsWithData = 0;
        double gapSum = 0;
        long chosenTokens = 0;
        long rejectedTokens = 0;
        long desirable = 0;
        Set<Long> prompts = new HashSet<>();
        samples.forEach(sample -> prompts.add(sample.index()));
        for (List<SampleRecord> group : byPrompt.values()) {
            List<SampleRecord> distinct = distinct(group);
            repeats += group.size() - distinct.size();
            List<Pair> made = mode == Mode.UNPAIRED ? labelled(distinct) : paired(distinct);
            if (!made.isEmpty()) {
                promptsWithData++;
            }
            for (Pair pair : made) {
                chosenTokens += pair.chosen().tokens();
                if (pair.rejected() != null) {
                    rejectedTokens += pair.rejected().tokens();
                    gapSum += pair.gap();
                } else if (pair.desirable()) {
                    desirable++;
                }
            }
            pairs.addAll(made);
        }
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("mode", mode.name().toLowerCase(Locale.ROOT));
        stats.put("prompts", prompts.size());
        stats.put("samples", samples.size());
        stats.put("failed_samples", failed);
        stats.put("unfinished_samples", unfinished);
        stats.put("empty_samples", empty);
        stats.put("repeated_samples", repeats);
        stats.put("prompts_with_data", promptsWithData);
        stats.put(mode == Mode.UNPAIRED ? "completions" : "pairs", pairs.size());
        stats.put("per_prompt", promptsWithData == 0 ? 0.0 : (double) pairs.size() / promptsWithData);
        if (mode == Mode.UNPAIRED) {
            stats.put("desirable", desirable);
            stats.put("mean_tokens", pairs.isEmpty() ? 0.0 : (double) chosenTokens / pairs.size());
        } else {
            stats.put("mean_reward_gap", pairs.isEmpty() ? 0.0 : gapSum / pairs.size());
            stats.put("mean_chosen_tokens", pairs.isEmpty() ? 0.0 : (double) chosenTokens / pairs.size());
            stats.put("mean_rejected_tokens", pairs.isEmpty() ? 0.0 : (double) rejectedTokens / pairs.size());
        }
        return new Result(pairs, stats);
    }

    /** Best first (ties: lower sample index). */
    private static final Comparator<SampleRecord> BEST_FIRST = Comparator.comparingDouble(SampleRecord::reward)
            .reversed().thenComparingInt(SampleRecord::sample);

    private List<Pair> paired(List<SampleRecord> group) {
        List<SampleRecord> ranked = new ArrayList<>(group);
        ranked.sort(BEST_FIRST);
        List<Pair> out = new ArrayList<>();
        if (mode == Mode.BEST_WORST) {
            if (ranked.size() >= 2) {
                SampleRecord best = ranked.get(0);
                // the lowest score; among equals, the lowest sample index
                SampleRecord worst = ranked.get(ranked.size() - 1);
                for (SampleRecord candidate : ranked) {
                    if (candidate.reward() == worst.reward()) {
                        worst = candidate;
                        break;
                    }
                }
                if (best.reward() - worst.reward() >= minGap) {
                    out.add(new Pair(best, worst, true));
                }
            }
            return out;
        }
        for (int i = 0; i < ranked.size(); i++) {
            for (int j = i + 1; j < ranked.size(); j++) {
                if (ranked.get(i).reward() - ranked.get(j).reward() >= minGap) {
                    out.add(new Pair(ranked.get(i), ranked.get(j), true));
                }
            }
        }
        out.sort(Comparator.comparingDouble(Pair::gap).reversed()
                .thenComparingInt(pair -> pair.chosen().sample()).thenComparingInt(pair -> pair.rejected().sample()));
        return maxPerPrompt > 0 && out.size() > maxPerPrompt ? new ArrayList<>(out.subList(0, maxPerPrompt)) : out;
    }

    private List<Pair> labelled(List<SampleRecord> group) {
        List<Pair> out = new ArrayList<>();
        for (SampleRecord sample : group) {
            out.add(new Pair(sample, null, sample.reward() >= desirableReward));
        }
        return maxPerPrompt > 0 && out.size() > maxPerPrompt ? new ArrayList<>(out.subList(0, maxPerPrompt)) : out;
    }

    /** The first sample of each distinct completion, in sample order. */
    private static List<SampleRecord> distinct(List<SampleRecord> group) {
        List<SampleRecord> ordered = new ArrayList<>(group);
        ordered.sort(Comparator.comparingInt(SampleRecord::sample));
        Set<String> seen = new HashSet<>();
        List<SampleRecord> out = new ArrayList<>();
        for (SampleRecord sample : ordered) {
            if (seen.add(sample.completion())) {
                out.add(sample);
            }
        }
        return out;
    }
}
