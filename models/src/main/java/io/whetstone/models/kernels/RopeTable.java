package io.whetstone.models.kernels;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.RopeScaling;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rotary position embedding tables. Pairs of adjacent features (2i, 2i+1) of every head are
 * rotated by the angle {@code position * theta^(-2i/D)}: the layout of llama.cpp / GGUF and llama2.c.
 * (Hugging Face checkpoints rotate the two halves of a head instead; converters permute Q and K rows.)
 *
 * @param cos cos of the angles, [maxSeqLen, D/2]
 * @param sin sin of the angles, [maxSeqLen, D/2]
 * @param headSize D
 */
public record RopeTable(INDArray cos, INDArray sin, int headSize) {

    /** Tables for positions 0..maxSeqLen-1, computed in double and stored in {@code dataType}. */
    public static RopeTable create(int maxSeqLen, int headSize, double theta, DataType dataType) {
        return create(maxSeqLen, headSize, RopeScaling.NONE.inverseFrequencies(headSize, theta), dataType);
    }

    /** The table of a Llama-family model: its head size, theta and rope scaling, up to its max_seq_len. */
    public static RopeTable create(ModelConfig config, DataType dataType) {
        return create(config.maxSeqLen(), config.headSize(),
                config.variant().ropeScaling().inverseFrequencies(config.headSize(), config.ropeTheta()), dataType);
    }

    /** Tables for the inverse frequencies {@code frequencies} [D/2] (angle = position * frequency). */
    public static RopeTable create(int maxSeqLen, int headSize, double[] frequencies, DataType dataType) {
        int half = headSize / 2;
        if (frequencies.length != half) {
            throw new IllegalArgumentException("expected " + half + " frequencies, got " + frequencies.length);
        }
        double[] cos = new double[maxSeqLen * half];
        double[] sin = new double[maxSeqLen * half];
        for (int position = 0; position < maxSeqLen; position++) {
            for (int i = 0; i < half; i++) {
                double angle = position * frequencies[i];
                cos[position * half + i] = Math.cos(angle);
                sin[position * half + i] = Math.sin(angle);
            }
        }
        return new RopeTable(
                Nd4j.create(cos, new long[] {maxSeqLen, half}, DataType.DOUBLE).castTo(dataType),
                Nd4j.create(sin, new long[] {maxSeqLen, half}, DataType.DOUBLE).castTo(dataType),
                headSize);
    }

    /** The longest sequence the table covers. */
    public int maxSeqLen() {
        return (int) cos.size(0);
    }
}
