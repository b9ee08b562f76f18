package io.whetstone.models.engine;

import java.util.Arrays;

/**
 * One named parameter tensor of a model.
 *
 * @param name the engine's name for it (for GPT-2 the Hugging Face name; for Llama the fused layout's)
 * @param shape its shape, row-major; linear weights are [in, out]
 * @param decay whether AdamW's weight decay applies (matrices and embeddings yes; biases and norms no)
 * @param init how it starts
 * @param std standard deviation for {@link Init#NORMAL}
 */
public record TensorSpec(String name, long[] shape, boolean decay, Init init, double std) {

    /** How a tensor is initialised. */
    public enum Init {
        NORMAL, ZEROS, ONES
    }

    public TensorSpec {
        shape = shape.clone();
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("tensor name must be set");
        }
        for (long dimension : shape) {
            if (dimension <= 0) {
                throw new IllegalArgumentException("tensor " + name + " has a bad shape " + Arrays.toString(shape));
            }
        }
    }

    /** Number of elements. */
    public long length() {
        long length = 1;
        for (long dimension : shape) {
            length *= dimension;
        }
        return length;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TensorSpec spec && name.equals(spec.name) && Arrays.equals(shape, spec.shape)
                && decay == spec.decay && init == spec.init && Double.compare(std, spec.std) == 0;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
