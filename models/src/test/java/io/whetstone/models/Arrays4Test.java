package io.whetstone.models;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Small helpers shared by the model tests: seeded arrays and scale-aware comparisons. */
public final class Arrays4Test {

    private Arrays4Test() {
    }

    /** A [shape] array of N(0, scale^2) values from {@code random}, in {@code dataType}. */
    public static INDArray gaussian(Random random, DataType dataType, double scale, long... shape) {
        long length = 1;
        for (long dimension : shape) {
            length *= dimension;
        }
        double[] values = new double[(int) length];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextGaussian() * scale;
        }
        return Nd4j.create(values, shape, DataType.DOUBLE).castTo(dataType);
    }

    /** max |actual - expected| / max |expected| (or the absolute difference when expected is all zero). */
    public static double relativeError(INDArray expected, INDArray actual) {
        INDArray e = expected.castTo(DataType.DOUBLE);
        INDArray a = actual.castTo(DataType.DOUBLE).reshape(e.shape());
        double diff = e.sub(a).amaxNumber().doubleValue();
        double scale = e.amaxNumber().doubleValue();
        return scale == 0 ? diff : diff / scale;
    }

    /** Copy of {@code array} in {@code dataType}, contiguous. */
    public static INDArray as(INDArray array, DataType dataType) {
        return array.castTo(dataType).dup('c');
    }
}
