package io.whetstone.jobs.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The partitions' weighted sum: a sum holding one result sends it as floats, and however Spark's tree merge
 * groups the results (and serialises the partial sums between them), the sums equal the plain double
 * accumulation in the same order, bit for bit.
 */
class RoundSumTest {

    private static final int P = 10_000;

    @Test
    void everyGroupingEqualsThePlainDoubleSum() throws Exception {
        PartitionResult[] results = {result(0, 11), result(1, 7), result(2, 30)};
        double[] params = new double[P];
        double[][] moments = new double[2][P];
        for (PartitionResult r : results) { // the reference: widen every float on arrival
            for (int i = 0; i < P; i++) {
                params[i] += r.weight() * r.params()[i];
                moments[0][i] += r.weight() * r.optimizerState()[0][i];
                moments[1][i] += r.weight() * r.optimizerState()[1][i];
            }
        }
        RoundSum sequential = new RoundSum().add(results[0]).add(results[1]).add(results[2]).widen();
        RoundSum tree = roundTrip(new RoundSum().add(results[0]))
                .merge(roundTrip(new RoundSum().add(results[1])))
                .merge(roundTrip(new RoundSum().add(PartitionResult.empty(3)).add(results[2])))
                .merge(roundTrip(new RoundSum()))
                .widen();
        for (RoundSum sum : new RoundSum[] {sequential, tree}) {
            assertArrayEquals(params, sum.params, 0.0);
            assertArrayEquals(moments[0], sum.optimizerState[0], 0.0);
            assertArrayEquals(moments[1], sum.optimizerState[1], 0.0);
            assertEquals(48, sum.weight, 0.0);
            assertEquals(3, sum.partitions);
            assertEquals(30_000_000L, sum.maxTaskNanos, "fetch + compute of the slowest task");
            assertEquals(3_000_000L, sum.maxFetchNanos);
        }
    }

    @Test
    void aSumOfOneResultCrossesTheNetworkAsFloats() throws Exception {
        int values = 3 * P; // parameters and two moments
        int single = serialised(new RoundSum().add(result(0, 5))).length;
        int widened = serialised(new RoundSum().add(result(0, 5)).widen()).length;
        assertTrue(single < 4 * values + 2_000, single + " bytes for " + values + " floats");
        assertTrue(widened > 8 * values, widened + " bytes once widened to doubles");
    }

    private static PartitionResult result(int partition, double weight) {
        Random random = new Random(partition);
        float[] params = new float[P];
        float[][] state = new float[2][P];
        for (int i = 0; i < P; i++) {
            params[i] = (float) random.nextGaussian();
            state[0][i] = (float) random.nextGaussian() * 1e-3f;
            state[1][i] = random.nextFloat() * 1e-6f;
        }
        long compute = 9_000_000L * (partition + 1);
        return new PartitionResult(partition, params, state, weight, weight * 2.5, weight, 4, compute, weight,
                Map.of("x", 1.0), 2, 0.5).withFetchNanos(1_000_000L * (partition + 1));
    }

    private static byte[] serialised(RoundSum sum) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(sum);
        }
        return bytes.toByteArray();
    }

    private static RoundSum roundTrip(RoundSum sum) throws Exception {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(serialised(sum)))) {
            return (RoundSum) in.readObject();
        }
    }
}
