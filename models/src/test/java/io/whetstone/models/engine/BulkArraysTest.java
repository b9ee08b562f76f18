package io.whetstone.models.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.train.TrainingState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Bulk vectors come back bit for bit (NaN payloads, -0.0, lengths off the chunk size) and take 4 or 8 bytes a value. */
class BulkArraysTest {

    @Test
    void vectorsRoundTripBitForBit() throws Exception {
        Random random = new Random(7);
        for (int length : new int[] {0, 1, 65_535, 65_536, 200_003}) {
            float[] floats = new float[length];
            double[] doubles = new double[length];
            for (int i = 0; i < length; i++) {
                floats[i] = Float.intBitsToFloat(random.nextInt());
                doubles[i] = Double.longBitsToDouble(random.nextLong());
            }
            if (length > 2) {
                floats[0] = -0.0f;
                floats[1] = Float.intBitsToFloat(0x7fc01234); // a NaN with a payload
                doubles[0] = -0.0;
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                BulkArrays.writeFloats(out, floats);
                BulkArrays.writeDoubles(out, doubles);
                BulkArrays.writeFloats(out, null);
                BulkArrays.writeFloatRows(out, new float[][] {floats, null});
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                assertBits(floats, BulkArrays.readFloats(in));
                double[] back = BulkArrays.readDoubles(in);
                for (int i = 0; i < length; i++) {
                    assertEquals(Double.doubleToRawLongBits(doubles[i]), Double.doubleToRawLongBits(back[i]));
                }
                assertNull(BulkArrays.readFloats(in));
                float[][] rows = BulkArrays.readFloatRows(in);
                assertBits(floats, rows[0]);
                assertNull(rows[1]);
            }
        }
    }

    @Test
    void aTrainingStateSerialisesAtFourBytesAValue() throws Exception {
        int p = 100_000;
        float[] params = new float[p];
        float[][] moments = new float[2][p];
        Random random = new Random(3);
        for (int i = 0; i < p; i++) {
            params[i] = (float) random.nextGaussian();
            moments[0][i] = (float) random.nextGaussian();
            moments[1][i] = random.nextFloat();
        }
        TrainingState state = new TrainingState(params, moments, 42);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(state);
        }
        assertTrue(bytes.size() < 12 * p * 1.01, bytes.size() + " bytes for " + 3 * p + " floats");
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            TrainingState back = (TrainingState) in.readObject();
            assertEquals(42, back.step());
            assertArrayEquals(params, back.params(), 0f);
            assertArrayEquals(moments[0], back.optimizerState()[0], 0f);
            assertArrayEquals(moments[1], back.optimizerState()[1], 0f);
        }
    }

    @Test
    void frozenParamsRoundTripFullAndPacked() throws Exception {
        io.whetstone.models.ModelConfig config = TinyModels.llama();
        ParameterLayout layout = ParameterLayout.of(config);
        float[] values = new float[(int) layout.length()];
        Random random = new Random(9);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        for (org.nd4j.linalg.api.buffer.DataType storage : new org.nd4j.linalg.api.buffer.DataType[] {
                org.nd4j.linalg.api.buffer.DataType.FLOAT, org.nd4j.linalg.api.buffer.DataType.BFLOAT16}) {
            FrozenParams params = FrozenParams.of(values, layout, storage);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(params);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                FrozenParams back = (FrozenParams) in.readObject();
                assertEquals(params.packed(), back.packed());
                assertEquals(params.storage(), back.storage());
                assertBits(params.toFloats(), back.toFloats());
            }
        }
    }

    private static void assertBits(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), "at " + i);
        }
    }
}
