package io.whetstone.jobs.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The data order of one partition (rows of any kind: packed rows, preference pairs), a pure function of (seed, partition, position): the shard is
 * walked in a fresh permutation each epoch, and local step s of round r takes the rows at positions
 * ((r-1)*localSteps + s)*batchSize onwards. Resuming at round r, or retrying a task, sees exactly the
 * rows the first attempt saw; the round number is the whole data cursor.
 */
final class ShardSampler {

    private final long seed;
    private final int partition;
    private final int batchSize;
    private final int localSteps;
    private long cachedEpoch = -1;
    private int[] permutation;

    ShardSampler(long seed, int partition, int batchSize, int localSteps) {
        this.seed = seed;
        this.partition = partition;
        this.batchSize = batchSize;
        this.localSteps = localSteps;
    }

    /** The rows of local step {@code step} (0-based) of {@code round} (1-based). */
    <R> List<R> batch(List<R> shard, int round, int step) {
        if (shard.isEmpty()) {
            throw new IllegalArgumentException("partition " + partition + " has no rows: the corpus packs into fewer "
                    + "rows than spark.partitions; use fewer partitions or more data");
        }
        long start = ((long) (round - 1) * localSteps + step) * batchSize;
        List<R> rows = new ArrayList<>(batchSize);
        for (int i = 0; i < batchSize; i++) {
            long position = start + i;
            long epoch = position / shard.size();
            int offset = (int) (position % shard.size());
            rows.add(shard.get(permutation(epoch, shard.size())[offset]));
        }
        return rows;
    }

    private int[] permutation(long epoch, int size) {
        if (epoch != cachedEpoch || permutation == null || permutation.length != size) {
            SplittableRandom random = new SplittableRandom(Seeds.mix(seed, partition, epoch));
            permutation = new int[size];
            for (int i = 0; i < size; i++) {
                permutation[i] = i;
            }
            for (int i = size - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int swap = permutation[i];
                permutation[i] = permutation[j];
                permutation[j] = swap;
            }
            cachedEpoch = epoch;
        }
        return permutation;
    }
}
