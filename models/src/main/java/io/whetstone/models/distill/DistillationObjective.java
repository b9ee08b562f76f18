package io.whetstone.models.distill;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.objectives.ObjectiveResult;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Logit distillation mixed with the data's cross-entropy over the positions the loss mask selects:
 * loss = [(1 - ceWeight) * sum(mask * J) + ceWeight * sum(-mask * logp)] / normaliser, with J the
 * divergence of the teacher's and the student's next-token distributions at each position. The
 * normaliser defaults to the masked tokens, as SFT's; the divergence's gradient goes to the logits.
 */
public final class DistillationObjective implements Objective {

    private final TokenDivergence divergence;
    private final double ceWeight;
    private final Teacher teacher;
    private double lastDivergenceSum;
    private double lastCrossEntropySum;
    private double lastTokens;

    /**
     * @param loss the divergence and its temperature
     * @param ceWeight weight of the cross-entropy in [0, 1]; the divergence gets 1 - ceWeight
     * @param teacher the teacher's targets per batch
     */
    public DistillationObjective(DistillLoss loss, double ceWeight, Teacher teacher) {
        if (!(ceWeight >= 0 && ceWeight <= 1)) {
            throw new IllegalArgumentException("ce_weight must be in [0, 1], got " + ceWeight);
        }
        this.divergence = new TokenDivergence(loss);
        this.ceWeight = ceWeight;
        this.teacher = teacher;
    }

    @Override
    public ObjectiveResult evaluate(ForwardPass pass, TokenBatch batch, double normalizer) {
        if (!(normalizer > 0)) {
            throw new IllegalArgumentException("distillation needs a positive normaliser (no masked tokens?): "
                    + normalizer);
        }
        INDArray logits = pass.logits(); // [N, V]
        int positions = (int) logits.rows();
        int vocab = (int) logits.columns();
        float[] mask = batch.lossMask();
        TeacherTargets targets = ceWeight < 1 ? teacher.targets(batch) : null;
        if (targets instanceof TeacherTargets.Full full && full.logits().columns() != vocab) {
            throw new IllegalArgumentException("the teacher's vocabulary (" + full.logits().columns()
                    + ") differs from the student's (" + vocab + "): distillation needs one tokenizer");
        }
        // the divergence runs per position in plain Java; the logits cross to the heap in one copy each way,
        // since per-row INDArray access costs more than the arithmetic at these vocabulary sizes
        double[] studentAll = targets == null ? null : rowMajor(logits);
        double[] teacherAll = targets instanceof TeacherTargets.Full full ? rowMajor(full.logits()) : null;
        double[] dAll = targets == null ? null : new double[positions * vocab];
        double[] student = new double[vocab];
        double[] teacherRow = new double[vocab];
        double[] gradient = new double[vocab];
        double divergenceSum = 0;
        double scale = (1 - ceWeight) / normalizer;
        for (int i = 0; i < positions && targets != null; i++) {
            if (mask[i] == 0) {
                continue;
            }
            System.arraycopy(studentAll, i * vocab, student, 0, vocab);
            double value;
            if (teacherAll != null) {
                System.arraycopy(teacherAll, i * vocab, teacherRow, 0, vocab);
                value = divergence.full(student, teacherRow, gradient);
            } else {
                TeacherTargets.TopK topK = (TeacherTargets.TopK) targets;
                if (topK.ids()[i] == null) {
                    throw new IllegalArgumentException("no teacher top-k at position " + i + " of a masked token");
                }
                value = divergence.topK(student, topK.ids()[i], topK.logProbs()[i], gradient);
            }
            divergenceSum += mask[i] * value;
            double weight = mask[i] * scale;
            for (int j = 0; j < vocab; j++) {
                dAll[i * vocab + j] = gradient[j] * weight;
            }
        }
        INDArray dLogits = dAll == null ? null
                : Nd4j.createFromArray(dAll).reshape('c', positions, vocab).castTo(logits.dataType());
        INDArray maskArray = Nd4j.createFromArray(mask).castTo(pass.logProbs().dataType())
                .reshape(batch.batch(), batch.seqLen());
        double crossEntropySum = -pass.logProbs().mul(maskArray).sumNumber().doubleValue();
        INDArray dLogProbs = maskArray.muli(-ceWeight / normalizer);
        lastDivergenceSum = divergenceSum;
        lastCrossEntropySum = crossEntropySum;
        lastTokens = batch.maskedTokens();
        double loss = ((1 - ceWeight) * divergenceSum + ceWeight * crossEntropySum) / normalizer;
        // sums, so the round's report can show the split between the two terms
        return new ObjectiveResult(loss, dLogProbs, dLogits, java.util.Map.of("divergence_sum", divergenceSum,
                "cross_entropy_sum", crossEntropySum, "distill_tokens", lastTokens));
    }

    /** The [N, V] matrix as one row-major double array. */
    private static double[] rowMajor(INDArray matrix) {
        return matrix.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).dup('c').data().asDouble();
    }

    @Override
    public double defaultNormalizer(TokenBatch batch) {
        return batch.maskedTokens();
    }

    /** Sum over masked tokens of the divergence in the last evaluated batch. */
    public double lastDivergenceSum() {
        return lastDivergenceSum;
    }

    /** Sum over masked tokens of the cross-entropy in the last evaluated batch. */
    public double lastCrossEntropySum() {
        return lastCrossEntropySum;
    }

    /** Masked tokens of the last evaluated batch. */
    public double lastTokens() {
        return lastTokens;
    }
}
