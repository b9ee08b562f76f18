package io.whetstone.models.engine;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One linear map y = x W with W [in, out], and the low-rank adapters on its column blocks. A frozen
 * projection (LoRA training) skips the weight-gradient GEMM, a third of its backward.
 */
final class Projection {

    private final INDArray weight;
    private final INDArray dWeight;
    private final boolean frozen;
    private final List<Adapter> adapters;
    private final FrozenWeights half;

    Projection(INDArray weight, INDArray dWeight, boolean frozen, List<Adapter> adapters, FrozenWeights half) {
        this.weight = weight;
        this.dWeight = dWeight;
        this.frozen = frozen;
        this.adapters = List.copyOf(adapters);
        this.half = half;
    }

    void allocate(int rows, DataType dataType) {
        for (Adapter adapter : adapters) {
            adapter.allocate(rows, dataType);
        }
    }

    /** y [N, out] = x [N, in] W (+ adapters). {@code dropoutSeed} is null outside training. */
    void forward(INDArray x, INDArray y, Long dropoutSeed) {
        Nd4j.gemm(x, half.of(weight), y, false, false, 1.0, 0.0);
        for (int i = 0; i < adapters.size(); i++) {
            adapters.get(i).forward(x, y, dropoutSeed == null ? null : dropoutSeed * 31 + i);
        }
    }

    /** dW += x^T dy (unless frozen); adapters' gradients +=; dx [N, in] = dy W^T (+ adapters), or += when accumulating. */
    void backward(INDArray x, INDArray dy, INDArray dx, boolean accumulate) {
        if (!frozen) {
            Nd4j.gemm(x, dy, dWeight, true, false, 1.0, 1.0);
        }
        Nd4j.gemm(dy, half.of(weight), dx, false, true, 1.0, accumulate ? 1.0 : 0.0);
        for (Adapter adapter : adapters) {
            adapter.backward(x, dy, dx);
        }
    }
}
