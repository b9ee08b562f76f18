package io.whetstone.models.engine;

import io.whetstone.models.kernels.Kernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Qwen3's per-head RMSNorm of queries and keys, applied in place to the fused qkv rows between the projection
 * and the rotation. Each head's D features are one row of the norm kernel, so the q columns [N, H*D] are
 * normalised as [N*H, D] with one weight [D] (and the k columns as [N*K, D] with another).
 */
final class QkNorm {

    private final Kernels kernels;
    private final double eps;
    private final int heads;
    private final int kvHeads;
    private final int headSize;
    private final INDArray qWeight; // [D]
    private final INDArray kWeight; // [D]
    private final INDArray dQWeight;
    private final INDArray dKWeight;
    private Part q;
    private Part k;

    QkNorm(Kernels kernels, double eps, int heads, int kvHeads, int headSize, ParameterStore store, String prefix) {
        this.kernels = kernels;
        this.eps = eps;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headSize = headSize;
        this.qWeight = store.tensor(prefix + "q_norm");
        this.kWeight = store.tensor(prefix + "k_norm");
        this.dQWeight = store.gradient(prefix + "q_norm");
        this.dKWeight = store.gradient(prefix + "k_norm");
    }

    /** The inputs and row statistics one of q, k keeps for the backward. */
    private static final class Part {
        final INDArray raw; // [N*heads, D] before the norm
        final INDArray normed; // [N*heads, D]
        final INDArray rstd; // [N*heads]
        final INDArray grad; // [N*heads, D] scratch of the backward

        Part(long rows, int headSize, DataType dataType) {
            raw = Nd4j.zeros(dataType, rows, headSize);
            normed = Nd4j.zeros(dataType, rows, headSize);
            rstd = Nd4j.zeros(dataType, rows);
            grad = Nd4j.zeros(dataType, rows, headSize);
        }
    }

    void allocate(int rows, DataType dataType) {
        q = new Part((long) rows * heads, headSize, dataType);
        k = new Part((long) rows * kvHeads, headSize, dataType);
    }

    /** qkv [N, (H+2K)D]: its q and k columns normalised per head, in place. */
    void forward(INDArray qkv) {
        forward(qkv, q, 0, heads, qWeight);
        forward(qkv, k, heads, kvHeads, kWeight);
    }

    private void forward(INDArray qkv, Part part, int fromHead, int count, INDArray weight) {
        INDArray columns = columns(qkv, fromHead, count);
        part.raw.reshape(columns.shape()).assign(columns);
        kernels.rmsNorm(part.raw, weight, eps, part.normed, part.rstd);
        columns.assign(part.normed.reshape(columns.shape()));
    }

    /** dQkv [N, (H+2K)D]: on entry d loss / d normed q and k, on return d loss / d raw q and k; weight grads +=. */
    void backward(INDArray dQkv) {
        backward(dQkv, q, 0, heads, qWeight, dQWeight);
        backward(dQkv, k, heads, kvHeads, kWeight, dKWeight);
    }

    private void backward(INDArray dQkv, Part part, int fromHead, int count, INDArray weight, INDArray dWeight) {
        INDArray columns = columns(dQkv, fromHead, count);
        INDArray dNormed = part.normed; // its forward value is no longer needed: reuse as the incoming gradient
        dNormed.reshape(columns.shape()).assign(columns);
        part.grad.assign(0);
        kernels.rmsNormBackward(dNormed, part.raw, weight, part.rstd, part.grad, dWeight);
        columns.assign(part.grad.reshape(columns.shape()));
    }

    private INDArray columns(INDArray qkv, int fromHead, int count) {
        return qkv.get(NDArrayIndex.all(),
                NDArrayIndex.interval((long) fromHead * headSize, (long) (fromHead + count) * headSize));
    }
}
