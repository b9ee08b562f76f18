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
 * On-policy distillation batches (GKD): the student continues each row's first prompt itself, and the
 * teacher then scores the student's own tokens. A row keeps its first example's prompt (its ids up to the
 * first trained position); the student samples at temperature 1 up to the row's length or its end-of-sequence
 * token; the sampled tokens become the trained positions; the rest is filler outside the mask. Whether a
 * step is on-policy and every row's sampler are seeded by (seed, round, step, partition, row), so a retried
 * task samples the same tokens.
 */
final class OnPolicyBatches {

    private OnPolicyBatches() {
    }

    /** Whether local step {@code step} of {@code round} on {@code partition} trains on student samples. */
    static boolean onPolicy(long seed, int round, int step, int partition, double fraction) {
        if (fraction <= 0) {
            return false;
        }
        long h = mix(seed, round, step, partition, -1);
        return (h >>> 11) * 0x1.0p-53 < fraction;
    }

    /** The rows with each first prompt continued by {@code student}. */
    static List<PackedSequence> sample(Transformer student, List<PackedSequence> rows, int eosId, long seed, int round,
                                       int step, int partition) {
        List<int[]> prompts = new ArrayList<>(rows.size());
        int[] starts = new int[rows.size()];
        long[] seeds = new long[rows.size()];
        int maxNew = 1;
        for (int b = 0; b < rows.size(); b++) {
            PackedSequence row = rows.get(b);
            int start = 1;
            while (start < row.targetMask().length && !row.targetMask()[start]) {
                start++;
            }
            starts[b] = Math.min(start, row.ids().length - 1);
            prompts.add(Arrays.copyOf(row.ids(), starts[b]));
            seeds[b] = mix(seed, round, step, partition, b);
            maxNew = Math.max(maxNew, row.ids().length - starts[b]);
        }
        SamplingConfig sampling = new SamplingConfig(maxNew, 1.0, 0, 1.0, seed, new int[] {eosId});
        List<Completion> completions = new KvCacheDecoder(student).generate(prompts, sampling, seeds,
                (row, generated) -> starts[row] + generated.length >= rows.get(row).ids().length);
        List<PackedSequence> out = new ArrayList<>(rows.size());
        for (int b = 0; b < rows.size(); b++) {
            out.add(row(rows.get(b).ids().length, prompts.get(b), completions.get(b).tokens(), eosId));
        }
        return out;
    }

    /** A row of {@code length} ids: the prompt, the sampled tokens (trained), then filler (not trained). */
    static PackedSequence row(int length, int[] prompt, int[] sampled, int filler) {
        int[] ids = new int[length];
        boolean[] mask = new boolean[length];
        Arrays.fill(ids, filler);
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        int n = Math.min(sampled.length, length - prompt.length);
        for (int i = 0; i < n; i++) {
            ids[prompt.length + i] = sampled[i];
            mask[prompt.length + i] = true;
        }
        return new PackedSequence(ids, mask, 1);
    }

    /** The fifth key (1) stands for the constant this hash always added, so the seeds are unchanged. */
    private static long mix(long seed, int round, int step, int partition, int row) {
        return Seeds.mix(seed, round, step, partition, row, 1);
    }
}
