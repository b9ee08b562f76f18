package io.whetstone.jobs.engine;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * On-policy distillation batches (GKD): the student continues the prompt of every example packed into a row, and
 * the teacher then scores the student's own tokens. A row's examples are its runs of untrained ids (a prompt) each
 * followed by a run of trained ids (its completion); the student samples each prompt on its own, at temperature 1,
 * up to its completion's length (the last example: to the row's end) or its end-of-sequence token, all of a step's
 * examples in one batched decode. The row is rebuilt as each prompt followed by its sampled tokens (trained), in
 * order, then filler outside the mask; it is never longer than before, and a row of one example is sampled as it
 * always was. Whether a step is on-policy and every example's sampler are seeded by (seed,
 * round, step, partition, row, example), so a retried task samples the same tokens.
 */
final class OnPolicyBatches {

    private OnPolicyBatches() {
    }

    /**
     * One packed example: its prompt's ids and how many tokens the student may sample for it (its completion's
     * length; for a row's last example, up to the row's end).
     */
    record Example(int[] prompt, int budget) {
    }

    /** Whether local step {@code step} of {@code round} on {@code partition} trains on student samples. */
    static boolean onPolicy(long seed, int round, int step, int partition, double fraction) {
        if (fraction <= 0) {
            return false;
        }
        long h = mix(seed, round, step, partition, -1, 0);
        return (h >>> 11) * 0x1.0p-53 < fraction;
    }

    /** The rows with every example's prompt continued by {@code student}. */
    static List<PackedSequence> sample(Transformer student, List<PackedSequence> rows, int eosId, long seed, int round,
                                       int step, int partition) {
        List<List<Example>> examples = new ArrayList<>(rows.size());
        List<int[]> prompts = new ArrayList<>();
        List<Integer> budgets = new ArrayList<>();
        List<Long> seeds = new ArrayList<>();
        int maxNew = 1;
        for (int b = 0; b < rows.size(); b++) {
            List<Example> own = examples(rows.get(b));
            examples.add(own);
            for (int j = 0; j < own.size(); j++) {
                prompts.add(own.get(j).prompt());
                budgets.add(own.get(j).budget());
                seeds.add(mix(seed, round, step, partition, b, j));
                maxNew = Math.max(maxNew, own.get(j).budget());
            }
        }
        List<Completion> completions = prompts.isEmpty() ? List.of()
                : new KvCacheDecoder(student).generate(prompts, new SamplingConfig(maxNew, 1.0, 0, 1.0, seed,
                        new int[] {eosId}), seeds.stream().mapToLong(Long::longValue).toArray(),
                        (row, generated) -> generated.length >= budgets.get(row));
        List<PackedSequence> out = new ArrayList<>(rows.size());
        int next = 0;
        for (int b = 0; b < rows.size(); b++) {
            List<int[]> sampled = new ArrayList<>();
            for (int j = 0; j < examples.get(b).size(); j++) {
                sampled.add(completions.get(next++).tokens());
            }
            out.add(examples.get(b).isEmpty() ? rows.get(b)
                    : row(rows.get(b).ids().length, examples.get(b), sampled, eosId));
        }
        return out;
    }

    /**
     * The examples packed into {@code row}: each run of untrained ids (the first one from the row's start) with the
     * run of trained ids after it. Trailing untrained ids (padding) are the last example's room to sample further.
     */
    static List<Example> examples(PackedSequence row) {
        boolean[] mask = row.targetMask();
        List<Example> out = new ArrayList<>();
        int promptStart = 0;
        int t = 1; // flag 0 is never a target
        while (t < mask.length) {
            while (t < mask.length && !mask[t]) {
                t++;
            }
            if (t == mask.length) {
                break;
            }
            int completionStart = t;
            while (t < mask.length && mask[t]) {
                t++;
            }
            out.add(new Example(Arrays.copyOfRange(row.ids(), promptStart, completionStart), t - completionStart));
            promptStart = t;
        }
        if (!out.isEmpty()) {
            Example last = out.get(out.size() - 1);
            out.set(out.size() - 1, new Example(last.prompt(), last.budget() + mask.length - promptStart));
        }
        return out;
    }

    /**
     * A row of {@code length} ids: each example's prompt followed by its sampled tokens (trained, at most the
     * example's budget), in order, then filler (not trained).
     */
    static PackedSequence row(int length, List<Example> examples, List<int[]> sampled, int filler) {
        int[] ids = new int[length];
        boolean[] mask = new boolean[length];
        Arrays.fill(ids, filler);
        int at = 0;
        for (int j = 0; j < examples.size() && at < length; j++) {
            int[] prompt = examples.get(j).prompt();
            int n = Math.min(prompt.length, length - at);
            System.arraycopy(prompt, 0, ids, at, n);
            at += n;
            int k = Math.min(Math.min(sampled.get(j).length, examples.get(j).budget()), length - at);
            for (int i = 0; i < k; i++) {
                ids[at + i] = sampled.get(j)[i];
                mask[at + i] = true;
            }
            at += k;
        }
        return new PackedSequence(ids, mask, examples.size());
    }

    /**
     * The seed of example {@code example} of {@code row} (row -1: the step's own draw). The last key, 1 + example,
     * is 1 for a row's first example, the constant this hash always added: first examples sample as before.
     */
    private static long mix(long seed, int round, int step, int partition, int row, int example) {
        return Seeds.mix(seed, round, step, partition, row, 1 + example);
    }
}
