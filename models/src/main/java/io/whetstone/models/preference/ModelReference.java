package io.whetstone.models.preference;

import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;

/** A frozen reference model run forward over the policy's batch (same tokenizer). */
public final class ModelReference implements ReferenceLogProbs {

    private final Transformer model;

    public ModelReference(Transformer model) {
        this.model = model;
    }

    @Override
    public double[] sequenceLogProbs(TokenBatch batch) {
        return SequenceLogProbs.of(model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen())
                .logProbs(), batch).sums();
    }
}
