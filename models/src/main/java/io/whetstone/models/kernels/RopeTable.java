package io.whetstone.models.kernels;

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
        int half = headSize / 2;
        double[] cos = new double[maxSeqLen * half];
        double[] sin = new double[maxSeqLen * half];
        for (int position = 0; position < maxSeqLen; position++) {
            for (int i = 0; i < half; i++) {
                double frequency = Math.pow(theta, -2.0 * i / headSize);
                double angle = position * frequency;
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
