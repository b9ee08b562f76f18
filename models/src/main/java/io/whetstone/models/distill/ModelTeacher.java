package io.whetstone.models.distill;

import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;

/** A teacher model run forward over the student's batch; the student's tokenizer and vocabulary must match. */
public final class ModelTeacher implements Teacher {

    private final Transformer model;

    public ModelTeacher(Transformer model) {
        this.model = model;
    }

    @Override
    public TeacherTargets targets(TokenBatch batch) {
        // the logits are a view of the teacher's buffer, consumed before its next forward
        return new TeacherTargets.Full(model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen())
                .logits());
    }
}
