package io.whetstone.models.checkpoint;

import java.util.Arrays;

/**
 * A named tensor's shape and values as float32 (whatever it is stored as).
 *
 * @param shape row-major dimensions
 * @param values shape's product of values
 */
public record Tensor(long[] shape, float[] values) {

    public Tensor {
        long length = 1;
        for (long dimension : shape) {
            if (dimension < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            length *= dimension;
        }
        if (length != values.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + length + " values, got "
                    + values.length);
        }
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Tensor t && Arrays.equals(shape, t.shape) && Arrays.equals(values, t.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape) * 31 + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
