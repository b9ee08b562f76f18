package io.whetstone.models.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.TinyModels;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.optim.AdamW;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.optim.LrSchedule;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The flat state round-trips bit-exactly, and a restored model continues exactly like the original. */
class TrainingStateTest {

    @Test
    void captureRestoreIsBitExactAndTrainingContinuesIdentically() {
        TokenBatch batch = TinyModels.batch(TinyModels.llama(), 2, 6, 5);
        try (Transformer a = new Transformer(TinyModels.llama(), EngineOptions.fp32(1));
             Transformer b = new Transformer(TinyModels.llama(), EngineOptions.fp32(1))) {
            a.initialize(4);
            AdamW optA = new AdamW(a.parameters(), a.kernels(), AdamWConfig.defaults());
            Trainer trainerA = new Trainer(a, new MaskedCrossEntropy(), optA, LrSchedule.constant(1e-2));
            trainerA.step(List.of(batch));
            trainerA.step(List.of(batch));
            TrainingState state = TrainingState.capture(a, optA);

            AdamW optB = new AdamW(b.parameters(), b.kernels(), AdamWConfig.defaults());
            state.restore(b, optB);
            TrainingState again = TrainingState.capture(b, optB);
            assertEquals(state, again);
            for (int i = 0; i < state.params().length; i++) {
                assertEquals(Float.floatToRawIntBits(state.params()[i]), Float.floatToRawIntBits(again.params()[i]));
            }

            Trainer trainerB = new Trainer(b, new MaskedCrossEntropy(), optB, LrSchedule.constant(1e-2));
            double lossA = trainerA.step(List.of(batch)).loss();
            double lossB = trainerB.step(List.of(batch)).loss();
            assertEquals(lossA, lossB, 0.0);
            assertArrayEquals(TrainingState.capture(a, optA).params(), TrainingState.capture(b, optB).params(), 0f);
            assertNotEquals(state, TrainingState.capture(a, optA), "the third step must change the state");
        }
    }

    @Test
    void bulkCopiesEqualNd4jsOwnAndViewsTakeThePlainPath() {
        float[] values = new float[70_001];
        java.util.Random random = new java.util.Random(5);
        for (int i = 0; i < values.length; i++) {
            values[i] = Float.intBitsToFloat(random.nextInt());
        }
        org.nd4j.linalg.api.ndarray.INDArray whole = org.nd4j.linalg.factory.Nd4j.zeros(
                org.nd4j.linalg.api.buffer.DataType.FLOAT, values.length);
        org.junit.jupiter.api.Assertions.assertTrue(TrainingState.hostWhole(whole), "the CPU backend's whole buffer");
        TrainingState.copyInto(values, whole);
        float[] reference = whole.data().asFloat(); // ND4J's own element-wise read
        float[] bulk = TrainingState.toFloats(whole);
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(reference[i]), "in at " + i);
            assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(bulk[i]), "out at " + i);
        }

        org.nd4j.linalg.api.ndarray.INDArray matrix = org.nd4j.linalg.factory.Nd4j.zeros(
                org.nd4j.linalg.api.buffer.DataType.FLOAT, 3, 4);
        org.nd4j.linalg.api.ndarray.INDArray row = matrix.getRow(1);
        org.junit.jupiter.api.Assertions.assertFalse(TrainingState.hostWhole(row), "a view");
        TrainingState.copyInto(new float[] {1, 2, 3, 4}, row);
        assertArrayEquals(new float[] {1, 2, 3, 4}, TrainingState.toFloats(row), 0f);
        assertArrayEquals(new float[] {0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0}, TrainingState.toFloats(matrix), 0f);
    }
}
