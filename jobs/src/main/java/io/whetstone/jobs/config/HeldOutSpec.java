package io.whetstone.jobs.config;

/**
 * A held-out corpus for SFT and distillation: its loss and perplexity per trained token before training, every
 * {@code everyRounds} rounds and after the last. {@code path} empty turns it off; the corpus has data.format and is
 * validated and tokenized as the training data.
 *
 * @param path held-out corpus (file, directory or glob on any Hadoop path), or ""
 * @param everyRounds evaluate every this many rounds (0: only before and after)
 */
public record HeldOutSpec(String path, int everyRounds) {

    public HeldOutSpec {
        path = path == null ? "" : path;
        Checks.require(everyRounds >= 0, "eval.every_rounds must be >= 0, got " + everyRounds);
    }

    public boolean enabled() {
        return !path.isBlank();
    }

    /** Whether round {@code round} of {@code rounds} is evaluated. */
    public boolean due(int round, int rounds) {
        return enabled() && (round == rounds || (everyRounds > 0 && round % everyRounds == 0));
    }
}
