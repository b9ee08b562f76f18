package io.whetstone.models.engine;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.kernels.AttentionShape;
import io.whetstone.models.kernels.HeadArrays;
import io.whetstone.models.kernels.Kernels;
import io.whetstone.models.kernels.RopeTable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Causal multi-head self-attention with optional grouped queries, rotary positions and per-head q/k norms:
 * one GEMM for q, k and v, the attention kernel per (batch, key/value head), one GEMM out. Kernels that read
 * the qkv rows directly ({@link Kernels#readsAttentionRows}) need no head-major copies of q, k, v and y.
 * The output projection's bias (GPT-2) is added by the block with the residual.
 */
final class Attention {

    private final ModelConfig config;
    private final Kernels kernels;
    private final RopeTable rope;
    private final Projection qkvProjection; // W [C, (H+2K)D]
    private final INDArray bqkv; // [(H+2K)D] or null
    private final INDArray dBqkv;
    private final Projection outProjection; // W [HD, C]
    private final QkNorm qkNorm; // null without q/k norms

    private AttentionShape shape;
    private INDArray qkv; // [N, (H+2K)D]
    private HeadArrays heads; // q, y [B, K, G, T, D]; k, v [B, K, T, D]; null when the kernels read qkv's rows
    private INDArray probs; // [B*K, G*T, T]
    private INDArray merged; // [N, HD]

    Attention(ModelConfig config, Kernels kernels, RopeTable rope, Projection qkvProjection, INDArray bqkv,
              INDArray dBqkv, Projection outProjection, QkNorm qkNorm) {
        this.qkNorm = qkNorm;
        this.config = config;
        this.kernels = kernels;
        this.rope = rope;
        this.qkvProjection = qkvProjection;
        this.bqkv = bqkv;
        this.dBqkv = dBqkv;
        this.outProjection = outProjection;
    }

    void allocate(int batch, int seqLen, DataType dataType) {
        shape = new AttentionShape(batch, seqLen, config.heads(), config.kvHeads(), config.headSize());
        int n = shape.rows();
        int d = config.headSize();
        long bk = (long) batch * config.kvHeads();
        long gt = (long) config.groupSize() * seqLen;
        qkv = Nd4j.zeros(dataType, n, shape.qkvWidth());
        heads = kernels.readsAttentionRows() ? null : new HeadArrays(Nd4j.zeros(dataType, bk, gt, d),
                Nd4j.zeros(dataType, bk, seqLen, d), Nd4j.zeros(dataType, bk, seqLen, d),
                Nd4j.zeros(dataType, bk, gt, d));
        probs = Nd4j.zeros(dataType, bk, gt, seqLen);
        merged = Nd4j.zeros(dataType, n, (long) config.heads() * d);
        qkvProjection.allocate(n, dataType);
        if (qkNorm != null) {
            qkNorm.allocate(n, dataType);
        }
        outProjection.allocate(n, dataType);
    }

    AttentionShape shape() {
        return shape;
    }

    /** out [N, C] = attention(x [N, C]) without the output bias; dropoutSeed is for adapters (null: none). */
    void forward(INDArray x, INDArray out, Long dropoutSeed) {
        qkvProjection.forward(x, qkv, dropoutSeed);
        if (qkNorm != null) {
            qkNorm.forward(qkv); // a variant never has both q/k norms and qkv biases, so no bias comes first
        }
        kernels.attentionFromRows(qkv, bqkv, rope, 1.0 / Math.sqrt(config.headSize()), shape, heads, probs, merged);
        outProjection.forward(merged, out, dropoutSeed == null ? null : dropoutSeed + 1);
    }

    /**
     * Backward from dOut [N, C]: parameter gradients +=, dx [N, C] overwritten. {@code scratch}
     * supplies temporaries shared by all layers.
     */
    void backward(INDArray dOut, INDArray x, INDArray dx, BackwardScratch scratch) {
        INDArray dMerged = scratch.rows("attn.dmerged", (long) config.heads() * config.headSize());
        outProjection.backward(merged, dOut, dMerged, false);
        HeadArrays grads = heads == null ? null : new HeadArrays(scratch.like("dq", heads.q()),
                scratch.like("dk", heads.k()), scratch.like("dv", heads.v()), scratch.like("dy", heads.y()));
        INDArray dQkv = scratch.like("dqkv", qkv);
        kernels.attentionBackwardToRows(qkv, bqkv, rope, 1.0 / Math.sqrt(config.headSize()), shape, heads, probs,
                dMerged, grads, dQkv);
        if (qkNorm != null) {
            qkNorm.backward(dQkv);
        }
        if (dBqkv != null) {
            kernels.biasGradient(dQkv, dBqkv);
        }
        qkvProjection.backward(x, dQkv, dx, false);
    }
}
