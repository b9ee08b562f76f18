package io.whetstone.jobs.config;

/**
 * A held-out corpus for SFT and distillation: its loss and perplexity per trained token before training, every
 * {@code everyRounds} rounds and after the last: a corpus of its own ({@code path}, with data.format, validated and
 * tokenized as the training data), or a {@code fraction} of the training corpus held out by each record's content
 * (those records are then not trained on). Neither turns it off.
 *
 * @param path held-out corpus (file, directory or glob on any Hadoop path), or ""
 * @param fraction share of data.path's records held out instead (0: none; at most 0.5)
 * @param everyRounds evaluate every this many rounds (0: only before and after)
 */
public record HeldOutSpec(String path, double fraction, int everyRounds) {

    public HeldOutSpec {
        path = path == null ? "" : path;
        Checks.require(everyRounds >= 0, "eval.every_rounds must be >= 0, got " + everyRounds);
        Checks.require(fraction >= 0 && fraction <= 0.5, "eval.fraction must be in [0, 0.5], got " + fraction);
        Checks.require(path.isBlank() || fraction == 0, "eval.path and eval.fraction are alternatives: set one");
    }

    public boolean enabled() {
        return !path.isBlank() || fraction > 0;
    }

    /** Whether the held-out records are a fraction of the training corpus. */
    public boolean split() {
        return fraction > 0;
    }

    /** Whether round {@code round} of {@code rounds} is evaluated. */
    public boolean due(int round, int rounds) {
        return enabled() && (round == rounds || (everyRounds > 0 && round % everyRounds == 0));
    }
}
