package io.whetstone.models.engine;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A low-rank adapter on columns [from, from + width) of a projection: y[:, block] += s * drop(x) A B,
 * with A [in, r], B [r, width], s = alpha / r. Keeps t = drop(x) A (and the dropout mask) for the
 * backward. Column blocks go through ND4J views, so it runs on every backend.
 */
final class Adapter {

    private final INDArray a; // [in, r]
    private final INDArray b; // [r, width]
    private final INDArray dA;
    private final INDArray dB;
    private final int from;
    private final int width;
    private final double scale;
    private final double dropout;
    private INDArray t; // [N, r]
    private INDArray dropped; // [N, in] drop(x), only with dropout
    private INDArray mask; // [N, in] 0 or 1/(1-p), only with dropout

    Adapter(INDArray a, INDArray b, INDArray dA, INDArray dB, int from, int width, double scale, double dropout) {
        this.a = a;
        this.b = b;
        this.dA = dA;
        this.dB = dB;
        this.from = from;
        this.width = width;
        this.scale = scale;
        this.dropout = dropout;
    }

    void allocate(int rows, DataType dataType) {
        t = Nd4j.zeros(dataType, rows, a.size(1));
        if (dropout > 0) {
            dropped = Nd4j.zeros(dataType, rows, a.size(0));
            mask = Nd4j.zeros(dataType, rows, a.size(0));
        }
    }

    private INDArray block(INDArray matrix) {
        return matrix.get(NDArrayIndex.all(), NDArrayIndex.interval(from, from + width));
    }

    /** y[:, block] += s * drop(x) A B; dropout only when {@code dropoutSeed} is not null. */
    void forward(INDArray x, INDArray y, Long dropoutSeed) {
        INDArray input = x;
        if (dropout > 0 && dropoutSeed != null) {
            SplittableRandom random = new SplittableRandom(dropoutSeed);
            float[] values = new float[(int) mask.length()];
            float keep = (float) (1 / (1 - dropout));
            for (int i = 0; i < values.length; i++) {
                values[i] = random.nextDouble() < dropout ? 0f : keep;
            }
            mask.assign(Nd4j.createFromArray(values).reshape(mask.shape()).castTo(mask.dataType()));
            dropped.assign(x).muli(mask);
            input = dropped;
        } else if (dropout > 0) {
            mask.assign(1);
            dropped.assign(x);
            input = dropped;
        }
        Nd4j.gemm(input, a, t, false, false, 1.0, 0.0);
        INDArray delta = Nd4j.createUninitialized(y.dataType(), y.size(0), width);
        Nd4j.gemm(t, b, delta, false, false, scale, 0.0);
        block(y).addi(delta);
    }

    /** dA +=, dB +=, dx += from dy (the projection's output gradient) and the saved forward. */
    void backward(INDArray x, INDArray dy, INDArray dx) {
        INDArray dyBlock = block(dy).dup('c');
        Nd4j.gemm(t, dyBlock, dB, true, false, scale, 1.0);
        INDArray dt = Nd4j.createUninitialized(dy.dataType(), dy.size(0), a.size(1));
        Nd4j.gemm(dyBlock, b, dt, false, true, scale, 0.0);
        Nd4j.gemm(dropout > 0 ? dropped : x, dt, dA, true, false, 1.0, 1.0);
        if (dropout > 0) {
            INDArray dInput = Nd4j.createUninitialized(dx.dataType(), dx.shape());
            Nd4j.gemm(dt, a, dInput, false, true, 1.0, 0.0);
            dx.addi(dInput.muli(mask));
        } else {
            Nd4j.gemm(dt, a, dx, false, true, 1.0, 1.0);
        }
    }
}
