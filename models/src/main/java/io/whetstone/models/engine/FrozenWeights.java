package io.whetstone.models.engine;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Reads frozen weight matrices kept in half precision (BFLOAT16 or HALF) as the compute type: each use
 * converts the matrix, or a block of its rows, into one scratch buffer that the model's layers share (they run
 * one after another), so a half-precision base costs half its fp32 size plus one block.
 *
 * <p>The conversion is a plain loop over the buffers rather than ND4J's cast: a cast allocates a new fp32
 * array per use, and those arrays (the whole base, twice a step) are freed only when the garbage collector
 * finds their handles, so resident memory grew past the fp32 base's (measured on the 0.5B shape).
 *
 * <p>Not thread-safe: one per model, like the model's other buffers.
 */
public final class FrozenWeights {

    /** Rows of a vocabulary-sized matrix (embedding, LM head) converted at a time. */
    static final int BLOCK_ROWS = 4096;

    private static final float[] HALF_TO_FLOAT = halfTable();

    private final DataType compute;
    private final int threads;
    private INDArray scratch; // converted weights
    private INDArray products; // [N, BLOCK_ROWS] block products of the LM head

    public FrozenWeights(DataType compute) {
        this(compute, 1);
    }

    /** Conversions of large matrices split over {@code threads} threads (the engine's). */
    public FrozenWeights(DataType compute, int threads) {
        this.compute = compute;
        this.threads = Math.max(1, threads);
    }

    /** Whether {@code weight} must be converted before use. */
    boolean isHalf(INDArray weight) {
        return weight.dataType() != compute;
    }

    /** {@code weight} in the compute type: itself, or its conversion in the scratch buffer (valid until the next call). */
    INDArray of(INDArray weight) {
        if (!isHalf(weight)) {
            return weight;
        }
        long length = weight.length();
        if (scratch == null || scratch.length() < length) {
            scratch = Nd4j.create(compute, length);
        }
        INDArray target = scratch.get(NDArrayIndex.interval(0, length)).reshape(weight.shape());
        convert(weight, target);
        return target;
    }

    /** A contiguous [rows, cols] buffer for block products (valid until the next call). */
    INDArray products(long rows, long cols) {
        if (products == null || products.length() < rows * cols) {
            products = Nd4j.create(compute, rows * BLOCK_ROWS);
        }
        return products.get(NDArrayIndex.interval(0, rows * cols)).reshape(rows, cols);
    }

    private void convert(INDArray half, INDArray target) {
        boolean contiguous = half.ordering() == 'c' && half.elementWiseStride() == 1
                && target.ordering() == 'c' && target.elementWiseStride() == 1;
        if (!contiguous || compute != DataType.FLOAT) {
            target.assign(half); // ND4J's cast: allocates, but only for layouts the loop below does not cover
            return;
        }
        ShortBuffer source = half.data().asNio().order(ByteOrder.nativeOrder()).asShortBuffer();
        FloatBuffer destination = target.data().asNioFloat();
        int from = (int) half.offset();
        int to = (int) target.offset();
        int n = (int) half.length();
        boolean bfloat = half.dataType() == DataType.BFLOAT16;
        int parts = n < (1 << 20) ? 1 : threads;
        java.util.stream.IntStream range = java.util.stream.IntStream.range(0, parts);
        (parts > 1 ? range.parallel() : range).forEach(part -> {
            int start = (int) ((long) n * part / parts);
            int end = (int) ((long) n * (part + 1) / parts);
            for (int i = start; i < end; i++) {
                int bits = source.get(from + i) & 0xffff;
                destination.put(to + i, bfloat ? Float.intBitsToFloat(bits << 16) : HALF_TO_FLOAT[bits]);
            }
        });
    }

    /** out [N, cols] = rows {@code tokens} of {@code table} [V, cols], cast (an embedding lookup from a half table). */
    static void gather(INDArray table, int[] tokens, INDArray out) {
        out.assign(Nd4j.pullRows(table, 1, tokens));
    }

    /** IEEE 754 binary16 to float for every bit pattern (Java 17 has no Float.float16ToFloat). */
    private static float[] halfTable() {
        float[] table = new float[1 << 16];
        for (int bits = 0; bits < table.length; bits++) {
            int sign = (bits >>> 15) & 1;
            int exponent = (bits >>> 10) & 0x1f;
            int mantissa = bits & 0x3ff;
            float value;
            if (exponent == 0) {
                value = mantissa * 0x1p-24f; // subnormal: mantissa * 2^-24
            } else if (exponent == 31) {
                value = mantissa == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
            } else {
                value = Float.intBitsToFloat((exponent - 15 + 127) << 23 | mantissa << 13);
            }
            table[bits] = sign == 1 ? -value : value;
        }
        return table;
    }
}
