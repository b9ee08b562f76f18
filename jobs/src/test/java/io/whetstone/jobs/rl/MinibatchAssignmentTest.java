package io.whetstone.jobs.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Minibatches take a prompt's group whole, are about equal in rows, and are a function of seed and iteration. */
class MinibatchAssignmentTest {

    /** 12 groups of 4 completions, then 6 replayed rows, in group order. */
    private static List<UpdateRow> rows() {
        List<UpdateRow> rows = new ArrayList<>();
        for (long group = 0; group < 12; group++) {
            for (int sample = 0; sample < 4; sample++) {
                rows.add(new UpdateRow(new int[] {1}, new int[] {2, 3}, new float[2], new float[0], new float[2],
                        new float[0], new float[0], new int[0], null, 100 + group * 7));
            }
        }
        for (int i = 0; i < 6; i++) {
            rows.add(new UpdateRow(null, null, null, null, null, null, null, new int[0], null, -1));
        }
        return rows;
    }

    @Test
    void aGroupStaysInOneMinibatchAndMinibatchesAreBalanced() {
        List<UpdateRow> assigned = UpdateStage.assignMinibatches(rows(), 3, 4, 5, 2);
        for (int epoch = 0; epoch < 3; epoch++) {
            Map<Long, Set<Integer>> minibatchesOfGroup = new HashMap<>();
            int[] sizes = new int[4];
            Set<Integer> replayMinibatches = new HashSet<>();
            for (UpdateRow row : assigned) {
                int minibatch = row.minibatches()[epoch];
                sizes[minibatch]++;
                if (row.group() >= 0) {
                    minibatchesOfGroup.computeIfAbsent(row.group(), k -> new HashSet<>()).add(minibatch);
                } else {
                    replayMinibatches.add(minibatch);
                }
            }
            assertEquals(12, minibatchesOfGroup.size());
            minibatchesOfGroup.forEach((group, set) -> assertEquals(1, set.size(), "group " + group + " split: " + set));
            for (int size : sizes) {
                // 54 rows in 4 minibatches: 13.5 each, give or take one group of 4
                assertTrue(size >= 9 && size <= 18, java.util.Arrays.toString(sizes));
            }
            assertTrue(replayMinibatches.size() > 1, "replayed rows are spread one by one: " + replayMinibatches);
        }
    }

    @Test
    void theAssignmentIsSeededByIterationAndEpoch() {
        List<UpdateRow> first = UpdateStage.assignMinibatches(rows(), 2, 4, 5, 2);
        List<UpdateRow> again = UpdateStage.assignMinibatches(rows(), 2, 4, 5, 2);
        List<UpdateRow> next = UpdateStage.assignMinibatches(rows(), 2, 4, 5, 3);
        List<Integer> epoch0 = new ArrayList<>();
        List<Integer> epoch1 = new ArrayList<>();
        List<Integer> nextEpoch0 = new ArrayList<>();
        for (int i = 0; i < first.size(); i++) {
            assertEquals(first.get(i).minibatches()[0], again.get(i).minibatches()[0]);
            assertEquals(first.get(i).minibatches()[1], again.get(i).minibatches()[1]);
            epoch0.add(first.get(i).minibatches()[0]);
            epoch1.add(first.get(i).minibatches()[1]);
            nextEpoch0.add(next.get(i).minibatches()[0]);
        }
        assertNotEquals(epoch0, epoch1, "each epoch reshuffles");
        assertNotEquals(epoch0, nextEpoch0, "each iteration reshuffles");
    }

    /** The update's per-partition broadcast slices are the partitions parallelize made of the same rows. */
    @Test
    void updateSlicesAreTheCutParallelizeMakes() {
        var context = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(
                io.whetstone.jobs.SparkTestSession.get().sparkContext());
        for (int n : new int[] {1, 7, 54, 100}) {
            List<Integer> rows = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                rows.add(i);
            }
            for (int count : new int[] {1, 2, 3, 7}) {
                if (count <= n) {
                    assertEquals(context.parallelize(rows, count).glom().collect(), UpdateStage.slices(rows, count),
                            n + " rows in " + count);
                }
            }
        }
    }
}
