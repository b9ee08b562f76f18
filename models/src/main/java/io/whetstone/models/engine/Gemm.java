package io.whetstone.models.engine;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The three GEMMs of a linear map y = x W with W [in, out], written into preallocated arrays. */
final class Gemm {

    private Gemm() {
    }

    /** y [N, out] = x [N, in] W [in, out]. */
    static void forward(INDArray x, INDArray weight, INDArray y) {
        Nd4j.gemm(x, weight, y, false, false, 1.0, 0.0);
    }

    /** dx [N, in] = dy [N, out] W^T; accumulates when {@code accumulate}. */
    static void inputGradient(INDArray dy, INDArray weight, INDArray dx, boolean accumulate) {
        Nd4j.gemm(dy, weight, dx, false, true, 1.0, accumulate ? 1.0 : 0.0);
    }

    /** dW [in, out] += x^T [in, N] dy [N, out]. */
    static void weightGradient(INDArray x, INDArray dy, INDArray dWeight) {
        Nd4j.gemm(x, dy, dWeight, true, false, 1.0, 1.0);
    }
}
