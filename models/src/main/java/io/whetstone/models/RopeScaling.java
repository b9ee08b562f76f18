package io.whetstone.models;

/**
 * How a model stretches its rotary frequencies beyond the context it was pretrained on (Hugging Face
 * {@code rope_scaling} / {@code rope_parameters}). Only types whose result is fixed per position are here:
 * {@code dynamic} NTK scaling changes with the batch's length and equals the unscaled rope up to
 * {@code original_max_position_embeddings}, so a config loader caps the context there and uses {@link #NONE}.
 *
 * @param type the scaling rule
 * @param factor the stretch factor (LINEAR, LLAMA3)
 * @param lowFreqFactor Llama 3's low_freq_factor
 * @param highFreqFactor Llama 3's high_freq_factor
 * @param originalMaxPositions Llama 3's original_max_position_embeddings
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositions) implements java.io.Serializable {

    /** The rules implemented. */
    public enum Type {
        NONE,
        /** Every frequency divided by the factor (position interpolation). */
        LINEAR,
        /** Llama 3.1's rule: low frequencies divided by the factor, high ones kept, a smooth ramp between. */
        LLAMA3
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 0, 0, 0);

    public RopeScaling {
        if (type == null) {
            throw new IllegalArgumentException("rope scaling type must be set");
        }
        if (type != Type.NONE && !(factor > 0)) {
            throw new IllegalArgumentException("rope_scaling.factor must be > 0: " + factor);
        }
        if (type == Type.LLAMA3 && !(highFreqFactor > lowFreqFactor && lowFreqFactor > 0 && originalMaxPositions > 0)) {
            throw new IllegalArgumentException("llama3 rope scaling needs high_freq_factor > low_freq_factor > 0 and "
                    + "original_max_position_embeddings > 0");
        }
    }

    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMax) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMax);
    }

    /**
     * The inverse frequencies theta^(-2i/D), i &lt; D/2, after scaling (what transformers'
     * {@code ROPE_INIT_FUNCTIONS} compute, in double).
     */
    public double[] inverseFrequencies(int headSize, double theta) {
        int half = headSize / 2;
        double[] frequencies = new double[half];
        for (int i = 0; i < half; i++) {
            double base = Math.pow(theta, -2.0 * i / headSize);
            frequencies[i] = switch (type) {
                case NONE -> base;
                case LINEAR -> base / factor;
                case LLAMA3 -> llama3(base);
            };
        }
        return frequencies;
    }

    private double llama3(double frequency) {
        double lowFreqWavelength = originalMaxPositions / lowFreqFactor;
        double highFreqWavelength = originalMaxPositions / highFreqFactor;
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < highFreqWavelength) {
            return frequency; // high frequency: kept
        }
        if (wavelength > lowFreqWavelength) {
            return frequency / factor; // low frequency: interpolated
        }
        double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * frequency / factor + smooth * frequency;
    }
}
