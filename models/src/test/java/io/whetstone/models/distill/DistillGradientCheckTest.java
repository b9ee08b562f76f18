package io.whetstone.models.distill;

import static io.whetstone.models.GradientCheck.maxRelativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TinyModels;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.objectives.ObjectiveResult;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Finite differences in double precision: every divergence with respect to the student's logits (full
 * vocabulary and top-k support, two temperatures), and the whole distillation objective (divergence
 * mixed with cross-entropy) through a student transformer, tensor by tensor, against a teacher model of
 * another size and against top-k targets.
 */
class DistillGradientCheckTest {

    private static final double H = 1e-6;

    @ParameterizedTest(name = "{0} beta {1} T {2}")
    @CsvSource({"FORWARD_KL,0,1", "FORWARD_KL,0,2.5", "REVERSE_KL,0,1", "REVERSE_KL,0,0.7", "JSD,0.5,1", "JSD,0.2,1.5"})
    void divergenceGradientsMatchFiniteDifferences(Divergence kind, double beta, double temperature) {
        Random random = new Random(9);
        int vocab = 13;
        TokenDivergence divergence = new TokenDivergence(new DistillLoss(kind, beta, temperature));
        for (int trial = 0; trial < 4; trial++) {
            double[] student = gaussian(random, vocab, 2);
            double[] teacher = gaussian(random, vocab, 2);
            double[] gradient = new double[vocab];
            double value = divergence.full(student, teacher, gradient);
            assertTrue(value >= 0, "a divergence is non-negative: " + value);
            double[] scratch = new double[vocab];
            for (int j = 0; j < vocab; j++) {
                double original = student[j];
                student[j] = original + H;
                double plus = divergence.full(student, teacher, scratch);
                student[j] = original - H;
                double minus = divergence.full(student, teacher, scratch);
                student[j] = original;
                assertEquals((plus - minus) / (2 * H), gradient[j], 1e-7, "full, logit " + j);
            }
            int[] ids = {trial, 5, 12 - trial};
            float[] logProbs = topLogProbs(teacher, ids, temperature);
            double top = divergence.topK(student, ids, logProbs, gradient);
            assertTrue(top >= 0 && top <= value + 1e-6, "top-k is a lower bound of the full divergence: " + top
                    + " vs " + value);
            for (int j = 0; j < vocab; j++) {
                double original = student[j];
                student[j] = original + H;
                double plus = divergence.topK(student, ids, logProbs, scratch);
                student[j] = original - H;
                double minus = divergence.topK(student, ids, logProbs, scratch);
                student[j] = original;
                assertEquals((plus - minus) / (2 * H), gradient[j], 1e-7, "top-k, logit " + j);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Divergence.class)
    void divergenceIsZeroWhereTheDistributionsAgreeAndTopKOfTheWholeVocabularyIsExact(Divergence kind) {
        Random random = new Random(4);
        double[] logits = gaussian(random, 7, 1.5);
        TokenDivergence divergence = new TokenDivergence(new DistillLoss(kind, 0.4, 1.3));
        double[] gradient = new double[7];
        assertEquals(0, divergence.full(logits, logits, gradient), 1e-12);
        for (double g : gradient) {
            assertEquals(0, g, 1e-12);
        }
        double[] teacher = gaussian(random, 7, 1.5);
        double full = divergence.full(logits, teacher, gradient);
        double[] fullGradient = gradient.clone();
        int[] all = {6, 0, 5, 1, 4, 2, 3};
        double top = divergence.topK(logits, all, topLogProbs(teacher, all, 1.3), gradient);
        assertEquals(full, top, 1e-6); // the teacher's log-probs travel as floats
        for (int j = 0; j < 7; j++) {
            assertEquals(fullGradient[j], gradient[j], 1e-6);
        }
    }

    @Test
    void badTopKAndConfigsAreRefusedWithTheValue() {
        TokenDivergence divergence = new TokenDivergence(new DistillLoss(Divergence.FORWARD_KL, 0, 1));
        double[] logits = new double[5];
        IllegalArgumentException repeated = assertThrows(IllegalArgumentException.class,
                () -> divergence.topK(logits, new int[] {1, 1}, new float[] {-1, -2}, new double[5]));
        assertTrue(repeated.getMessage().contains("repeated"), repeated.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> divergence.topK(logits, new int[] {7}, new float[] {-1}, new double[5]));
        // the refused call left no stale support behind
        assertEquals(0, divergence.topK(logits, new int[] {0}, new float[] {(float) Math.log(0.2)}, new double[5]),
                1e-7);
        IllegalArgumentException beta = assertThrows(IllegalArgumentException.class,
                () -> new DistillLoss(Divergence.JSD, 1.0, 1));
        assertTrue(beta.getMessage().contains("beta"), beta.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DistillLoss(Divergence.FORWARD_KL, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse("kl"));
        assertEquals(Divergence.REVERSE_KL, Divergence.parse("reverse-kl"));
    }

    @ParameterizedTest(name = "{0}, top-k {1}")
    @CsvSource({"FORWARD_KL,false", "REVERSE_KL,false", "JSD,false", "FORWARD_KL,true", "JSD,true"})
    void objectiveThroughTheStudentMatchesFiniteDifferences(Divergence kind, boolean topK) {
        ModelConfig studentConfig = TinyModels.llama();
        ModelConfig teacherConfig = ModelConfig.llama(11, 16, 3, 4, 2, 20, 6); // wider and deeper, same vocabulary
        EngineOptions options = new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE, 1);
        try (Transformer student = new Transformer(studentConfig, options);
             Transformer teacherModel = new Transformer(teacherConfig, options)) {
            student.initialize(3);
            student.parameters().params().muli(3);
            teacherModel.initialize(5);
            teacherModel.parameters().params().muli(3);
            TokenBatch batch = TinyModels.batch(studentConfig, 2, 5, 17);
            DistillLoss loss = new DistillLoss(kind, 0.3, 1.5);
            Teacher teacher = new ModelTeacher(teacherModel);
            if (topK) {
                TeacherTargets.Full full = (TeacherTargets.Full) teacher.targets(batch);
                int positions = batch.batch() * batch.seqLen();
                int[][] ids = new int[positions][];
                float[][] logProbs = new float[positions][];
                for (int i = 0; i < positions; i++) {
                    double[] row = full.logits().getRow(i).toDoubleVector();
                    ids[i] = new int[] {i % 11, (i + 3) % 11, (i + 7) % 11};
                    logProbs[i] = topLogProbs(row, ids[i], loss.temperature());
                }
                TeacherTargets.TopK fixed = new TeacherTargets.TopK(ids, logProbs);
                teacher = ignored -> fixed;
            }
            DistillationObjective objective = new DistillationObjective(loss, 0.25, teacher);
            double normalizer = batch.maskedTokens();
            DoubleSupplier value = () -> {
                student.parameters().zeroGrads();
                ForwardPass pass = student.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
                ObjectiveResult result = objective.evaluate(pass, batch, normalizer);
                student.backward(result.dLogProbs(), result.dLogits());
                return result.loss();
            };
            value.getAsDouble();
            assertTrue(objective.lastDivergenceSum() > 0);
            INDArray grads = student.parameters().grads().dup();
            for (var spec : student.parameters().layout().tensors()) {
                long offset = student.parameters().layout().offset(spec.name());
                INDArray param = student.parameters().params().get(NDArrayIndex.interval(offset, offset + spec.length()));
                INDArray grad = grads.get(NDArrayIndex.interval(offset, offset + spec.length()));
                double error = maxRelativeError(param, grad, value, 12);
                assertTrue(error < 1e-5, spec.name() + ": relative error " + error);
            }
        }
    }

    @Test
    void aTeacherWithAnotherVocabularyIsRefused() {
        EngineOptions options = new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE, 1);
        try (Transformer student = new Transformer(TinyModels.llama(), options);
             Transformer teacherModel = new Transformer(ModelConfig.llama(13, 8, 1, 2, 2, 12, 6), options)) {
            student.initialize(1);
            teacherModel.initialize(2);
            TokenBatch batch = TinyModels.batch(TinyModels.llama(), 1, 5, 3);
            DistillationObjective objective = new DistillationObjective(new DistillLoss(Divergence.FORWARD_KL, 0, 1),
                    0, new ModelTeacher(teacherModel));
            ForwardPass pass = student.forward(batch.tokens(), batch.targets(), 1, 5);
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                    () -> objective.evaluate(pass, batch, batch.maskedTokens()));
            assertTrue(error.getMessage().contains("vocabulary"), error.getMessage());
        }
    }

    /** log softmax(teacher / T) at {@code ids}, rounded to float as a stored table holds it. */
    static float[] topLogProbs(double[] teacher, int[] ids, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (double t : teacher) {
            max = Math.max(max, t / temperature);
        }
        double sum = 0;
        for (double t : teacher) {
            sum += Math.exp(t / temperature - max);
        }
        double lse = max + Math.log(sum);
        float[] out = new float[ids.length];
        for (int k = 0; k < ids.length; k++) {
            out[k] = (float) (teacher[ids[k]] / temperature - lse);
        }
        return out;
    }

    private static double[] gaussian(Random random, int n, double scale) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = random.nextGaussian() * scale;
        }
        return out;
    }
}
