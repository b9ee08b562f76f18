package io.whetstone.models.engine;

import io.whetstone.models.Family;
import io.whetstone.models.kernels.Kernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The MLP of a block: GPT-2's x W_fc + b -> tanh-GELU -> W_proj, or Llama's SwiGLU
 * (silu(x W_gate) * x W_up) W_down with the gate and up projections fused into one [C, 2F] GEMM.
 * GPT-2's output bias is added by the block with the residual.
 */
final class FeedForward {

    private final Family family;
    private final Kernels kernels;
    private final int hidden;
    private final INDArray wIn; // [C, F] (GPT-2) or [C, 2F] (Llama)
    private final INDArray bIn; // [F] or null
    private final INDArray wOut; // [F, C]
    private final INDArray dWIn;
    private final INDArray dBIn;
    private final INDArray dWOut;
    private INDArray pre; // [N, F] or [N, 2F]: input projection (plus bias)
    private INDArray act; // [N, F]

    FeedForward(Family family, Kernels kernels, int hidden, INDArray wIn, INDArray bIn, INDArray wOut,
                INDArray dWIn, INDArray dBIn, INDArray dWOut) {
        this.family = family;
        this.kernels = kernels;
        this.hidden = hidden;
        this.wIn = wIn;
        this.bIn = bIn;
        this.wOut = wOut;
        this.dWIn = dWIn;
        this.dBIn = dBIn;
        this.dWOut = dWOut;
    }

    private int inWidth() {
        return family == Family.GPT2 ? hidden : 2 * hidden;
    }

    void allocate(int rows, DataType dataType) {
        pre = Nd4j.zeros(dataType, rows, inWidth());
        act = Nd4j.zeros(dataType, rows, hidden);
    }

    /** out [N, C] = mlp(x [N, C]) without GPT-2's output bias. */
    void forward(INDArray x, INDArray out) {
        Gemm.forward(x, wIn, pre);
        if (family == Family.GPT2) {
            kernels.biasGelu(pre, bIn, act);
        } else {
            kernels.swiglu(pre, act);
        }
        Gemm.forward(act, wOut, out);
    }

    /** Backward from dOut [N, C]: parameter gradients +=, dx [N, C] overwritten. */
    void backward(INDArray dOut, INDArray x, INDArray dx, BackwardScratch scratch) {
        Gemm.weightGradient(act, dOut, dWOut);
        INDArray dAct = scratch.rows("mlp.dact", hidden);
        Gemm.inputGradient(dOut, wOut, dAct, false);
        INDArray dPre;
        if (family == Family.GPT2) {
            kernels.geluBackward(dAct, pre, dAct);
            kernels.biasGradient(dAct, dBIn);
            dPre = dAct;
        } else {
            dPre = scratch.rows("mlp.dpre", 2L * hidden);
            kernels.swigluBackward(dAct, pre, dPre);
        }
        Gemm.weightGradient(x, dPre, dWIn);
        Gemm.inputGradient(dPre, wIn, dx, false);
    }
}
