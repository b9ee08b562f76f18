package io.whetstone.jobs.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/** The held-out loss on the executors equals a plain row-by-row computation of the masked cross-entropy. */
class HeldOutLossTest {

    private static final ModelConfig MODEL = ModelConfig.llama(30, 16, 2, 2, 1, 32, 16);
    private static final EngineOptions ENGINE = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1);

    @AfterEach
    void clearPool() {
        ModelPool.clear();
    }

    @Test
    void equalsAPlainRowByRowMaskedCrossEntropy() {
        Random random = new Random(3);
        List<PackedSequence> rows = new ArrayList<>();
        for (int r = 0; r < 11; r++) {
            int[] ids = new int[17];
            boolean[] mask = new boolean[17];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(30);
                mask[i] = i > 3 && random.nextDouble() < 0.7;
            }
            rows.add(new PackedSequence(ids, mask, 1));
        }
        ParameterStore store = new ParameterStore(ParameterLayout.of(MODEL), DataType.FLOAT);
        store.initialize(9);
        float[] params = TrainingState.toFloats(store.params());
        WorkerSetup setup = new WorkerSetup(MODEL, ENGINE, "adamw", new AdamWConfig(0.9, 0.95, 1e-8, 0, 1),
                new LrSchedule(1e-3, 1, 10, 0.1), 4, 1, 1, null, 0);

        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        HeldOutLoss.Result result = HeldOutLoss.evaluate(context, context.parallelize(rows, 3), setup, params, null,
                null, "test");

        double nll = 0;
        double tokens = 0;
        try (Transformer plain = new Transformer(MODEL, ENGINE)) {
            TrainingState.copyInto(params, plain.parameters().params());
            for (PackedSequence row : rows) {
                TokenBatch one = PackedRows.toTokenBatch(List.of(row));
                ForwardPass pass = plain.forward(one.tokens(), one.targets(), 1, one.seqLen());
                for (int t = 0; t < one.seqLen(); t++) {
                    if (one.lossMask()[t] != 0) {
                        nll -= pass.logProbs().getDouble(0, t);
                        tokens++;
                    }
                }
            }
        }
        assertEquals(tokens, result.tokens(), 0);
        assertEquals(nll / tokens, result.loss(), 1e-5 * nll / tokens);
        assertEquals(Math.exp(nll / tokens), result.perplexity(), 1e-4 * Math.exp(nll / tokens));
    }
}
