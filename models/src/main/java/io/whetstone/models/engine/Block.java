package io.whetstone.models.engine;

import io.whetstone.models.kernels.Kernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One pre-norm transformer block: mid = in + attn(norm1(in)) (+ bias); out = mid + mlp(norm2(mid)) (+ bias).
 * Keeps what its backward needs: the normalised inputs and the mid-block residual.
 */
final class Block {

    private final Kernels kernels;
    private final int width;
    private final Norm norm1;
    private final Attention attention;
    private final Norm norm2;
    private final FeedForward mlp;
    private final INDArray attnBias; // GPT-2's attention output bias [C] or null
    private final INDArray mlpBias; // GPT-2's MLP output bias [C] or null
    private final INDArray dAttnBias;
    private final INDArray dMlpBias;
    private INDArray normed1; // [N, C]
    private INDArray mid; // [N, C]
    private INDArray normed2; // [N, C]

    Block(Kernels kernels, int width, Norm norm1, Attention attention, Norm norm2, FeedForward mlp,
          INDArray attnBias, INDArray mlpBias, INDArray dAttnBias, INDArray dMlpBias) {
        this.kernels = kernels;
        this.width = width;
        this.norm1 = norm1;
        this.attention = attention;
        this.norm2 = norm2;
        this.mlp = mlp;
        this.attnBias = attnBias;
        this.mlpBias = mlpBias;
        this.dAttnBias = dAttnBias;
        this.dMlpBias = dMlpBias;
    }

    void allocate(int batch, int seqLen, DataType dataType) {
        int rows = batch * seqLen;
        norm1.allocate(rows, dataType);
        norm2.allocate(rows, dataType);
        attention.allocate(batch, seqLen, dataType);
        mlp.allocate(rows, dataType);
        normed1 = Nd4j.zeros(dataType, rows, width);
        mid = Nd4j.zeros(dataType, rows, width);
        normed2 = Nd4j.zeros(dataType, rows, width);
    }

    /** out [N, C] = block(in [N, C]); {@code projection} [N, C] is a temporary; dropoutSeed for adapters. */
    void forward(INDArray in, INDArray out, INDArray projection, Long dropoutSeed) {
        norm1.forward(in, normed1);
        attention.forward(normed1, projection, dropoutSeed);
        kernels.addResidual(in, projection, attnBias, mid);
        norm2.forward(mid, normed2);
        mlp.forward(normed2, projection, dropoutSeed == null ? null : dropoutSeed + 7);
        kernels.addResidual(mid, projection, mlpBias, out);
    }

    /** In place on dh [N, C]: on entry d loss / d out, on return d loss / d in. Parameter gradients +=. */
    void backward(INDArray in, INDArray dh, BackwardScratch scratch) {
        INDArray dNormed = scratch.rows("block.dnormed", width);
        if (dMlpBias != null) {
            kernels.biasGradient(dh, dMlpBias);
        }
        mlp.backward(dh, normed2, dNormed, scratch);
        norm2.backward(dNormed, mid, dh);
        if (dAttnBias != null) {
            kernels.biasGradient(dh, dAttnBias);
        }
        attention.backward(dh, normed1, dNormed, scratch);
        norm1.backward(dNormed, in, dh);
    }
}
