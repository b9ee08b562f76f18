package io.whetstone.models.distill;

import org.nd4j.linalg.api.ndarray.INDArray;

/** What the teacher says about each position of a batch: its full logits, or its top-k log-probabilities. */
public sealed interface TeacherTargets {

    /** @param logits [N, V] the teacher's raw next-token logits, N = B * T positions in row-major order */
    record Full(INDArray logits) implements TeacherTargets {
    }

    /**
     * @param ids [N][k] top-k token ids per position (null where the position has none)
     * @param logProbs [N][k] their log-probabilities at the loss's temperature
     */
    record TopK(int[][] ids, float[][] logProbs) implements TeacherTargets {
    }
}
