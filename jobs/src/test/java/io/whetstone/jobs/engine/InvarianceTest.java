package io.whetstone.jobs.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.optim.AdamW;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.train.Trainer;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Settings that must be equivalent give the same trajectory: one partition equals single-process
 * training; N partitions with gradient aggregation equal one partition with the same global batch;
 * parameter averaging after every SGD step equals gradient aggregation.
 */
class InvarianceTest {

    private static final ModelConfig MODEL = ModelConfig.gpt2(30, 16, 2, 2, 16);
    private static final EngineOptions ENGINE = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1);

    @AfterEach
    void clearPool() {
        ModelPool.clear();
    }

    private static List<PackedSequence> rows(int count, long seed) {
        Random random = new Random(seed);
        List<PackedSequence> rows = new ArrayList<>();
        for (int r = 0; r < count; r++) {
            int[] ids = new int[17];
            boolean[] mask = new boolean[17];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(30);
                mask[i] = i > 0 && random.nextDouble() < 0.6;
            }
            mask[16] = true;
            rows.add(new PackedSequence(ids, mask, 1));
        }
        return rows;
    }

    private static WorkerSetup setup(String optimizer, int batch, int localSteps, double maxGradNorm) {
        return new WorkerSetup(MODEL, ENGINE, optimizer, new AdamWConfig(0.9, 0.95, 1e-8, 0.01, maxGradNorm),
                new LrSchedule(optimizer.equals("sgd") ? 0.2 : 3e-3, 2, 20, 0.1), batch, localSteps, 11, null, 0);
    }

    private static TrainingState initial(String optimizer) {
        ParameterStore store = new ParameterStore(ParameterLayout.of(MODEL), DataType.FLOAT);
        store.initialize(5);
        float[] params = TrainingState.toFloats(store.params());
        int vectors = optimizer.equals("sgd") ? 0 : 2;
        return new TrainingState(params, new float[vectors][params.length], 0);
    }

    private static List<RoundReport> train(List<PackedSequence> rows, int partitions, WorkerSetup setup,
                                           DistributedTrainer.Mode mode, int rounds) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        JavaRDD<PackedSequence> shards = context.parallelize(rows, partitions).cache();
        List<RoundReport> reports = new ArrayList<>();
        TrainingState state = initial(setup.optimizer());
        try (DistributedTrainer<PackedSequence> trainer = DistributedTrainer.sft(context, shards, setup, mode, "test")) {
            for (int round = 1; round <= rounds; round++) {
                RoundReport report = trainer.round(state, round);
                reports.add(report);
                state = report.state();
            }
        } finally {
            shards.unpersist();
        }
        return reports;
    }

    @Test
    void onePartitionReproducesSingleProcessTraining() {
        List<PackedSequence> rows = rows(10, 1);
        WorkerSetup setup = setup("adamw", 4, 3, 1.0);
        List<RoundReport> distributed = train(rows, 1, setup, DistributedTrainer.Mode.AVERAGING, 3);

        try (Transformer model = new Transformer(MODEL, ENGINE)) {
            AdamW optimizer = new AdamW(model.parameters(), model.kernels(), setup.adamw());
            initial("adamw").restore(model, optimizer);
            Trainer trainer = new Trainer(model, new MaskedCrossEntropy(), optimizer, setup.schedule());
            ShardSampler sampler = new ShardSampler(setup.seed(), 0, 4, 3);
            for (int round = 1; round <= 3; round++) {
                double lossSum = 0;
                double tokens = 0;
                for (int step = 0; step < 3; step++) {
                    Trainer.StepStats stats = trainer.step(List.of(PartitionWorker.toTokenBatch(
                            sampler.batch(rows, round, step))));
                    lossSum += stats.loss() * stats.maskedTokens();
                    tokens += stats.maskedTokens();
                }
                assertEquals(lossSum / tokens, distributed.get(round - 1).loss(), 1e-5 * Math.abs(lossSum / tokens),
                        "round " + round);
            }
            assertArrayEquals(TrainingState.toFloats(model.parameters().params()),
                    distributed.get(2).state().params(), 1e-6f);
        }
    }

    @Test
    void gradientAggregationOverPartitionsEqualsOnePartitionWithTheGlobalBatch() {
        List<PackedSequence> rows = rows(8, 2);
        // Each shard is one batch, so every round sees all rows in both layouts.
        List<RoundReport> two = train(rows, 2, setup("adamw", 4, 1, 1.0), DistributedTrainer.Mode.GRADIENT, 4);
        List<RoundReport> one = train(rows, 1, setup("adamw", 8, 1, 1.0), DistributedTrainer.Mode.GRADIENT, 4);
        for (int round = 0; round < 4; round++) {
            assertEquals(one.get(round).loss(), two.get(round).loss(), 1e-5 * one.get(round).loss(), "round " + round);
            assertEquals(one.get(round).tokens(), two.get(round).tokens());
        }
        assertArrayEquals(one.get(3).state().params(), two.get(3).state().params(), 1e-5f);
        assertTrue(one.get(3).loss() < one.get(0).loss(), "training should reduce the loss");
    }

    @Test
    void averagingAfterEverySgdStepEqualsGradientAggregation() {
        List<PackedSequence> rows = rows(8, 3);
        WorkerSetup setup = setup("sgd", 4, 1, 0); // no clipping: per-partition and global norms differ
        List<RoundReport> averaging = train(rows, 2, setup, DistributedTrainer.Mode.AVERAGING, 4);
        List<RoundReport> gradient = train(rows, 2, setup, DistributedTrainer.Mode.GRADIENT, 4);
        for (int round = 0; round < 4; round++) {
            assertEquals(gradient.get(round).loss(), averaging.get(round).loss(), 1e-5 * gradient.get(round).loss());
        }
        assertArrayEquals(gradient.get(3).state().params(), averaging.get(3).state().params(), 1e-5f);
    }
}
