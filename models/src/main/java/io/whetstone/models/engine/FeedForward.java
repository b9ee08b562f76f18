package io.whetstone.models.engine;

import io.whetstone.models.kernels.Kernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The MLP of a block: GPT-2's x W_fc + b -> tanh-GELU -> W_proj, or Llama's SwiGLU
 * (silu(x W_gate) * x W_up) W_down with the gate and up projections fused into one [C, 2F] GEMM (Gemma's
 * GeGLU gates with tanh-GELU instead). GPT-2's output bias is added by the block with the residual.
 */
final class FeedForward {

    /** The activation. */
    enum Kind {
        /** GPT-2: tanh-GELU of x W_fc + b. */
        GELU,
        /** silu(gate) * up. */
        SWIGLU,
        /** gelu_tanh(gate) * up. */
        GEGLU
    }

    private final Kind kind;
    private final Kernels kernels;
    private final int hidden;
    private final Projection in; // W [C, F] (GPT-2) or [C, 2F] (Llama)
    private final INDArray bIn; // [F] or null
    private final INDArray dBIn;
    private final Projection out; // W [F, C]
    private INDArray pre; // [N, F]: gelu' at the input projection plus bias (GPT-2); [N, 2F]: the projection
    private INDArray act; // [N, F]

    FeedForward(Kind kind, Kernels kernels, int hidden, Projection in, INDArray bIn, INDArray dBIn,
                Projection out) {
        this.kind = kind;
        this.kernels = kernels;
        this.hidden = hidden;
        this.in = in;
        this.bIn = bIn;
        this.dBIn = dBIn;
        this.out = out;
    }

    private int inWidth() {
        return kind == Kind.GELU ? hidden : 2 * hidden;
    }

    void allocate(int rows, DataType dataType) {
        pre = Nd4j.zeros(dataType, rows, inWidth());
        act = Nd4j.zeros(dataType, rows, hidden);
        in.allocate(rows, dataType);
        out.allocate(rows, dataType);
    }

    /** y [N, C] = mlp(x [N, C]) without GPT-2's output bias; dropoutSeed is for adapters (null: none). */
    void forward(INDArray x, INDArray y, Long dropoutSeed) {
        in.forward(x, pre, dropoutSeed);
        switch (kind) {
            case GELU -> kernels.biasGeluWithDerivative(pre, bIn, act);
            case SWIGLU -> kernels.swiglu(pre, act);
            case GEGLU -> kernels.geglu(pre, act);
        }
        out.forward(act, y, dropoutSeed == null ? null : dropoutSeed + 1);
    }

    /** Backward from dOut [N, C]: parameter gradients +=, dx [N, C] overwritten. */
    void backward(INDArray dOut, INDArray x, INDArray dx, BackwardScratch scratch) {
        INDArray dAct = scratch.rows("mlp.dact", hidden);
        out.backward(act, dOut, dAct, false);
        INDArray dPre;
        if (kind == Kind.GELU) {
            kernels.geluBackward(dAct, pre, dAct, dBIn);
            dPre = dAct;
        } else {
            dPre = scratch.rows("mlp.dpre", 2L * hidden);
            if (kind == Kind.SWIGLU) {
                kernels.swigluBackward(dAct, pre, dPre);
            } else {
                kernels.gegluBackward(dAct, pre, dPre);
            }
        }
        in.backward(x, dPre, dx, false);
    }
}
