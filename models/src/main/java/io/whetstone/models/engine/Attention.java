package io.whetstone.models.engine;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.kernels.AttentionShape;
import io.whetstone.models.kernels.Kernels;
import io.whetstone.models.kernels.RopeTable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Causal multi-head self-attention with optional grouped queries, rotary positions and per-head q/k norms:
 * one GEMM for q, k and v, the attention kernel per (batch, key/value head), one GEMM out.
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
    private INDArray q; // [B, K, G, T, D], viewed as [B*K, G*T, D]
    private INDArray k; // [B, K, T, D], viewed as [B*K, T, D]
    private INDArray v; // [B, K, T, D]
    private INDArray probs; // [B*K, G*T, T]
    private INDArray y; // [B, K, G, T, D]
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
        q = Nd4j.zeros(dataType, bk, gt, d);
        k = Nd4j.zeros(dataType, bk, seqLen, d);
        v = Nd4j.zeros(dataType, bk, seqLen, d);
        probs = Nd4j.zeros(dataType, bk, gt, seqLen);
        y = Nd4j.zeros(dataType, bk, gt, d);
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
        kernels.splitHeads(qkv, bqkv, rope, shape, q, k, v);
        kernels.attention(q, k, v, 1.0 / Math.sqrt(config.headSize()), shape, probs, y);
        kernels.mergeHeads(y, shape, merged);
        outProjection.forward(merged, out, dropoutSeed == null ? null : dropoutSeed + 1);
    }

    /**
     * Backward from dOut [N, C]: parameter gradients +=, dx [N, C] overwritten. {@code scratch}
     * supplies temporaries shared by all layers.
     */
    void backward(INDArray dOut, INDArray x, INDArray dx, BackwardScratch scratch) {
        INDArray dMerged = scratch.rows("attn.dmerged", (long) config.heads() * config.headSize());
        outProjection.backward(merged, dOut, dMerged, false);
        INDArray dy = scratch.like("dy", y);
        kernels.mergeHeadsBackward(dMerged, shape, dy);
        INDArray dq = scratch.like("dq", q);
        INDArray dk = scratch.like("dk", k);
        INDArray dv = scratch.like("dv", v);
        kernels.attentionBackward(q, k, v, probs, dy, 1.0 / Math.sqrt(config.headSize()), shape, dq, dk, dv);
        INDArray dQkv = scratch.like("dqkv", qkv);
        kernels.splitHeadsBackward(dq, dk, dv, rope, shape, dQkv);
        if (qkNorm != null) {
            qkNorm.backward(dQkv);
        }
        if (dBqkv != null) {
            kernels.biasGradient(dQkv, dBqkv);
        }
        qkvProjection.backward(x, dQkv, dx, false);
    }
}
