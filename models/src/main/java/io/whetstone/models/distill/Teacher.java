package io.whetstone.models.distill;

import io.whetstone.models.engine.TokenBatch;

/** Produces the teacher's targets for a batch: a teacher model run forward, or top-k rows read from a table. */
@FunctionalInterface
public interface Teacher {

    /** The teacher's view of every position of {@code batch}. Valid until the next call. */
    TeacherTargets targets(TokenBatch batch);
}
