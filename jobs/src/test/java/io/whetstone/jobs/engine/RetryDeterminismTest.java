package io.whetstone.jobs.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A retried task gives the same result as the first attempt: one partition's round, run first in a
 * cold JVM (kernels interpreted), then on other threads, concurrently with another partition, with
 * other pooled models and after the JIT has compiled the kernels, always returns the same bits.
 * (This failed while the kernels used the Vector API's EXP and reduceLanes(ADD), whose compiled and
 * interpreted forms differ in the last bit.)
 */
class RetryDeterminismTest {

    @AfterEach
    void clearPool() {
        ModelPool.clear();
    }

    @Test
    void samePartitionRoundGivesTheSameBitsEveryTime() throws Exception {
        ModelConfig model = ModelConfig.llama(263, 32, 1, 4, 2, 48, 48);
        WorkerSetup setup = new WorkerSetup(model, new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1), "adamw",
                new AdamWConfig(0.9, 0.95, 1e-8, 0.1, 1.0), new LrSchedule(3e-3, 2, 8, 0.1), 4, 2, 1, null, 0);
        Random random = new Random(1);
        List<PackedSequence> rows = new ArrayList<>();
        for (int r = 0; r < 20; r++) {
            int[] ids = new int[49];
            boolean[] mask = new boolean[49];
            for (int i = 0; i < 49; i++) {
                ids[i] = random.nextInt(263);
                mask[i] = i > 10;
            }
            rows.add(new PackedSequence(ids, mask, 1));
        }
        ParameterStore store = new ParameterStore(ParameterLayout.of(model), DataType.FLOAT);
        store.initialize(3);
        float[] params = TrainingState.toFloats(store.params());
        TrainingState state = new TrainingState(params, new float[2][params.length], 4);

        float[] first = run(setup, state, rows, 0);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            assertArrayEquals(first, pool.submit(() -> run(setup, state, rows, 0)).get(), 0f, "other thread");
            Future<float[]> concurrent = pool.submit(() -> run(setup, state, rows, 0));
            Future<float[]> other = pool.submit(() -> run(setup, state, rows, 1));
            assertArrayEquals(first, concurrent.get(), 0f, "concurrent with another partition");
            other.get();
        } finally {
            pool.shutdown();
        }
        for (int i = 0; i < 30; i++) { // warm the JIT up
            run(setup, state, rows, 1);
        }
        assertArrayEquals(first, run(setup, state, rows, 0), 0f, "after JIT compilation");
    }

    private static float[] run(WorkerSetup setup, TrainingState state, List<PackedSequence> rows, int partition) {
        return PartitionWorker.averaging(setup, state, () -> null, () -> null, 3, partition, rows.iterator()).next().params();
    }
}
