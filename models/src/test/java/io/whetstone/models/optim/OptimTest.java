package io.whetstone.models.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.TinyModels;
import io.whetstone.models.engine.Transformer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class OptimTest {

    @Test
    void scheduleWarmsUpLinearlyThenFollowsCosine() {
        LrSchedule schedule = new LrSchedule(1e-3, 10, 110, 0.1);
        assertEquals(1e-4, schedule.rate(1), 1e-15);
        assertEquals(1e-3, schedule.rate(10), 1e-15);
        assertEquals(1e-3 * (0.1 + 0.9 * 0.5), schedule.rate(60), 1e-15); // half way: cos = 0
        assertEquals(1e-4, schedule.rate(110), 1e-15);
        assertEquals(1e-4, schedule.rate(500), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-3, 10, 10, 0.1));
    }

    @Test
    void clippingScalesTheGradientToTheThreshold() {
        try (Transformer model = new Transformer(TinyModels.gpt2(), EngineOptions.fp64Reference())) {
            INDArray grads = model.parameters().grads();
            grads.assign(0);
            grads.putScalar(0, 3.0);
            grads.putScalar(1, 4.0); // norm 5
            // One step of AdamW with lr 0 only updates the moments: m = (1 - b1) * g * clipScale.
            AdamW optimizer = new AdamW(model.parameters(), model.kernels(), new AdamWConfig(0.9, 0.99, 1e-8, 0, 1.0));
            AdamW.Update update = optimizer.apply(0.0);
            assertEquals(5.0, update.gradNorm(), 1e-12);
            assertEquals(0.2, update.clipScale(), 1e-12);
            assertEquals(0.1 * 3.0 * 0.2, optimizer.firstMoment().getDouble(0), 1e-12);
            assertEquals(0.1 * 4.0 * 0.2, optimizer.firstMoment().getDouble(1), 1e-12);
        }
    }

    @Test
    void firstAdamStepMovesEachParameterByTheLearningRate() {
        // With bias correction, step 1 moves every parameter with a non-zero gradient by lr * sign(g)
        // (up to eps), and applies decoupled decay only to the decayed prefix.
        try (Transformer model = new Transformer(TinyModels.gpt2(), EngineOptions.fp64Reference())) {
            model.initialize(1);
            INDArray before = model.parameters().params().dup();
            model.parameters().grads().assign(-2.0);
            AdamW optimizer = new AdamW(model.parameters(), model.kernels(), new AdamWConfig(0.9, 0.999, 1e-8, 0.5, 0));
            optimizer.apply(0.01);
            long decayed = model.parameters().layout().decayedLength();
            INDArray after = model.parameters().params();
            assertEquals(before.getDouble(0) * (1 - 0.005) + 0.01, after.getDouble(0), 1e-9);
            assertEquals(before.getDouble(decayed) + 0.01, after.getDouble(decayed), 1e-9);
        }
    }
}
