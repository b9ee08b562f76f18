package io.whetstone.models.engine;

import io.whetstone.models.Family;
import io.whetstone.models.kernels.Kernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A normalisation layer over rows [N, C]: LayerNorm (GPT-2, weight and bias) or RMSNorm (Llama, weight
 * only). Keeps the row statistics of its last forward for the backward.
 */
final class Norm {

    private final Family family;
    private final Kernels kernels;
    private final double eps;
    private final INDArray weight;
    private final INDArray bias;
    private final INDArray dWeight;
    private final INDArray dBias;
    private INDArray mean; // [N], LayerNorm only
    private INDArray rstd; // [N]

    /** {@code prefix} names the tensors: prefix + ".weight"/".bias" for GPT-2, prefix itself for Llama. */
    Norm(Family family, Kernels kernels, double eps, ParameterStore store, String prefix) {
        this.family = family;
        this.kernels = kernels;
        this.eps = eps;
        if (family == Family.GPT2) {
            this.weight = store.tensor(prefix + ".weight");
            this.bias = store.tensor(prefix + ".bias");
            this.dWeight = store.gradient(prefix + ".weight");
            this.dBias = store.gradient(prefix + ".bias");
        } else {
            this.weight = store.tensor(prefix);
            this.bias = null;
            this.dWeight = store.gradient(prefix);
            this.dBias = null;
        }
    }

    void allocate(int rows, DataType dataType) {
        mean = Nd4j.zeros(dataType, rows);
        rstd = Nd4j.zeros(dataType, rows);
    }

    /** out [N, C] = norm(x [N, C]). */
    void forward(INDArray x, INDArray out) {
        if (family == Family.GPT2) {
            kernels.layerNorm(x, weight, bias, eps, out, mean, rstd);
        } else {
            kernels.rmsNorm(x, weight, eps, out, rstd);
        }
    }

    /** dx [N, C] += d norm(x) / dx applied to dOut; parameter gradients +=. */
    void backward(INDArray dOut, INDArray x, INDArray dx) {
        if (family == Family.GPT2) {
            kernels.layerNormBackward(dOut, x, weight, mean, rstd, dx, dWeight, dBias);
        } else {
            kernels.rmsNormBackward(dOut, x, weight, rstd, dx, dWeight);
        }
    }
}
