package io.whetstone.models.preference;

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
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.objectives.ObjectiveResult;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Finite differences in double precision: each pairwise loss and KTO with respect to the sequence
 * log-probs, and each objective through a policy transformer (against a frozen reference transformer),
 * tensor by tensor. Also the properties that pin the losses' meaning.
 */
class PreferenceGradientCheckTest {

    private static final double H = 1e-6;

    @ParameterizedTest(name = "{0} beta {1} smoothing {2} gamma {3} sft {4} lambda {5}")
    @CsvSource({"SIGMOID,0.1,0,0,0,0", "SIGMOID,0.7,0.2,0,0.4,0", "DPOP,0.3,0,0,0,4.0", "DPOP,0.5,0,0,0.3,50",
            "IPO,0.3,0,0,0,0", "SIMPO,2.0,0,0.8,0,0", "SIMPO,2.0,0.15,0.3,0.2,0", "ORPO,0.2,0,0,0,0",
            "ORPO,0.5,0,0,1.0,0"})
    void pairwiseGradientsMatchFiniteDifferences(PreferenceLoss kind, double beta, double smoothing, double gamma,
                                                 double sft, double lambda) {
        Random random = new Random(11);
        PairwiseLoss loss = new PairwiseLoss(new PreferenceSettings(kind, beta, smoothing, gamma, sft, lambda));
        int n = 5;
        double[] chosen = new double[n];
        double[] rejected = new double[n];
        double[] refChosen = new double[n];
        double[] refRejected = new double[n];
        double[] chosenTokens = new double[n];
        double[] rejectedTokens = new double[n];
        for (int i = 0; i < n; i++) {
            chosenTokens[i] = 1 + random.nextInt(9);
            rejectedTokens[i] = 1 + random.nextInt(9);
            chosen[i] = -chosenTokens[i] * (0.1 + 2 * random.nextDouble());
            rejected[i] = -rejectedTokens[i] * (0.1 + 2 * random.nextDouble());
            refChosen[i] = chosen[i] + random.nextGaussian();
            refRejected[i] = rejected[i] + random.nextGaussian();
        }
        PairwiseLoss.Pairs pairs = new PairwiseLoss.Pairs(chosen, rejected, refChosen, refRejected, chosenTokens,
                rejectedTokens);
        PairwiseLoss.Result result = loss.evaluate(pairs);
        for (int i = 0; i < n; i++) {
            for (double[] input : new double[][] {chosen, rejected}) {
                double original = input[i];
                input[i] = original + H;
                double plus = loss.evaluate(pairs).lossSum();
                input[i] = original - H;
                double minus = loss.evaluate(pairs).lossSum();
                input[i] = original;
                double analytic = input == chosen ? result.dChosen()[i] : result.dRejected()[i];
                assertEquals((plus - minus) / (2 * H), analytic, 1e-7, (input == chosen ? "chosen " : "rejected ") + i);
            }
        }
    }

    @Test
    void ktoGradientsMatchFiniteDifferencesWithTheReferencePointHeldFixed() {
        Random random = new Random(5);
        int n = 7;
        double[] policy = new double[n];
        double[] reference = new double[n];
        boolean[] desirable = new boolean[n];
        for (int i = 0; i < n; i++) {
            policy[i] = -5 * random.nextDouble();
            reference[i] = policy[i] + random.nextGaussian() * 2;
            desirable[i] = i % 3 != 0;
        }
        double z0 = KtoLoss.referencePoint(policy, reference);
        KtoLoss loss = new KtoLoss(new KtoSettings(0.6, 1.0, 1.4));
        KtoLoss.Result result = loss.evaluate(policy, reference, desirable, z0);
        for (int i = 0; i < n; i++) {
            double original = policy[i];
            policy[i] = original + H;
            double plus = loss.evaluate(policy, reference, desirable, z0).lossSum();
            policy[i] = original - H;
            double minus = loss.evaluate(policy, reference, desirable, z0).lossSum();
            policy[i] = original;
            assertEquals((plus - minus) / (2 * H), result.dPolicy()[i], 1e-8, "example " + i);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"SIGMOID,0.5,0.1,0,0.3,0", "DPOP,0.5,0,0,0,3.0", "IPO,0.5,0,0,0,0", "SIMPO,2.0,0,0.5,0,0",
            "ORPO,0.3,0,0,0,0", "KTO,0.5,0,0,0,0"})
    void objectivesThroughThePolicyMatchFiniteDifferences(String kind, double beta, double smoothing, double gamma,
                                                          double sft, double lambda) {
        ModelConfig config = TinyModels.llama();
        EngineOptions options = new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE, 1);
        try (Transformer policy = new Transformer(config, options);
             Transformer referenceModel = new Transformer(config, options)) {
            policy.initialize(3);
            policy.parameters().params().muli(3);
            referenceModel.initialize(4);
            referenceModel.parameters().params().muli(3);
            TokenBatch batch = pairBatch(config, 2, 6, 21);
            ReferenceLogProbs reference = new ModelReference(referenceModel);
            Objective objective = kind.equals("KTO")
                    ? new KtoObjective(new KtoSettings(beta, 1.0, 1.3), reference,
                            b -> new boolean[] {true, false, false, true})
                    : new PreferenceObjective(new PreferenceSettings(PreferenceLoss.parse(kind), beta, smoothing, gamma,
                            sft, lambda), reference);
            double normalizer = objective.defaultNormalizer(batch);
            DoubleSupplier value = () -> {
                policy.parameters().zeroGrads();
                ForwardPass pass = policy.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
                ObjectiveResult result = objective.evaluate(pass, batch, normalizer);
                policy.backward(result.dLogProbs(), result.dLogits());
                return result.loss();
            };
            value.getAsDouble();
            INDArray grads = policy.parameters().grads().dup();
            assertTrue(grads.norm2Number().doubleValue() > 0, "the loss depends on the policy");
            for (var spec : policy.parameters().layout().tensors()) {
                long offset = policy.parameters().layout().offset(spec.name());
                INDArray param = policy.parameters().params().get(NDArrayIndex.interval(offset, offset + spec.length()));
                INDArray grad = grads.get(NDArrayIndex.interval(offset, offset + spec.length()));
                double error = maxRelativeError(param, grad, value, 12);
                assertTrue(error < 1e-5, spec.name() + ": relative error " + error);
            }
        }
    }

    @Test
    void dpoIsLogTwoAtTheReferenceAndFavoursTheChosenCompletion() {
        PairwiseLoss dpo = new PairwiseLoss(PreferenceSettings.dpo(0.1));
        double[] one = {4};
        PairwiseLoss.Result atReference = dpo.evaluate(new PairwiseLoss.Pairs(new double[] {-3}, new double[] {-5},
                new double[] {-3}, new double[] {-5}, one, one));
        assertEquals(Math.log(2), atReference.lossSum(), 1e-12);
        // descending the loss raises the chosen completion's log-prob and lowers the rejected one's
        assertTrue(atReference.dChosen()[0] < 0 && atReference.dRejected()[0] > 0);
        assertEquals(0.05, -atReference.dChosen()[0], 1e-12); // beta * sigmoid(0)
        assertEquals(0, atReference.metrics().get("reward_margin_sum"), 1e-12);
        assertEquals(0, atReference.metrics().get("preference_correct"));
        // swapping the labels of a pair the policy already prefers raises the loss
        PairwiseLoss.Result right = dpo.evaluate(new PairwiseLoss.Pairs(new double[] {-2}, new double[] {-6},
                new double[] {-3}, new double[] {-5}, one, one));
        PairwiseLoss.Result wrong = dpo.evaluate(new PairwiseLoss.Pairs(new double[] {-6}, new double[] {-2},
                new double[] {-5}, new double[] {-3}, one, one));
        assertTrue(right.lossSum() < Math.log(2) && wrong.lossSum() > Math.log(2));
        assertEquals(1, right.metrics().get("preference_correct"));
        // both log-probs fell since the reference: the drift metrics show it
        PairwiseLoss.Result displaced = dpo.evaluate(new PairwiseLoss.Pairs(new double[] {-4}, new double[] {-9},
                new double[] {-3}, new double[] {-5}, one, one));
        assertEquals(-0.25, displaced.metrics().get("chosen_logp_drift_sum"), 1e-12);
        assertEquals(-1.0, displaced.metrics().get("rejected_logp_drift_sum"), 1e-12);
    }

    @Test
    void badSettingsAndBatchesAreRefusedWithTheValue() {
        IllegalArgumentException beta = assertThrows(IllegalArgumentException.class,
                () -> new PreferenceSettings(PreferenceLoss.SIGMOID, 0, 0, 0, 0));
        assertTrue(beta.getMessage().contains("preference.beta") && beta.getMessage().contains("0.0"),
                beta.getMessage());
        IllegalArgumentException gamma = assertThrows(IllegalArgumentException.class,
                () -> new PreferenceSettings(PreferenceLoss.SIGMOID, 0.1, 0, 0.5, 0));
        assertTrue(gamma.getMessage().contains("simpo_gamma"), gamma.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new PreferenceSettings(PreferenceLoss.IPO, 0.1, 0.1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new KtoSettings(0.1, 0, 1));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> PreferenceLoss.parse("hinge"));
        assertTrue(unknown.getMessage().contains("hinge"), unknown.getMessage());
        assertEquals(PreferenceLoss.SIMPO, PreferenceLoss.parse("SimPO"));
        assertThrows(IllegalArgumentException.class, () -> new PreferenceObjective(PreferenceSettings.dpo(0.1), null));
        PreferenceObjective simpo = new PreferenceObjective(new PreferenceSettings(PreferenceLoss.SIMPO, 2, 0, 0, 0),
                null);
        TokenBatch odd = TinyModels.batch(TinyModels.llama(), 3, 4, 1);
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
                () -> simpo.defaultNormalizer(odd));
        assertTrue(rows.getMessage().contains("3 rows"), rows.getMessage());
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                () -> new PairwiseLoss.Pairs(new double[] {-1}, new double[] {-1}, null, null, new double[] {0},
                        new double[] {2}));
        assertTrue(empty.getMessage().contains("no counted tokens"), empty.getMessage());
    }

    /**
     * {@code pairs} pairs of rows with random tokens; each row's first two positions are the prompt (mask 0),
     * the rest its completion with a random position left out.
     */
    static TokenBatch pairBatch(ModelConfig config, int pairs, int seqLen, long seed) {
        Random random = new Random(seed);
        int rows = 2 * pairs;
        int n = rows * seqLen;
        int[] tokens = new int[n];
        int[] targets = new int[n];
        float[] mask = new float[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = random.nextInt(config.vocabSize());
        }
        for (int b = 0; b < rows; b++) {
            int skip = 2 + random.nextInt(seqLen - 3);
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                targets[i] = t + 1 < seqLen ? tokens[i + 1] : random.nextInt(config.vocabSize());
                mask[i] = t >= 1 && t != skip ? 1f : 0f;
            }
        }
        return new TokenBatch(tokens, targets, mask, rows, seqLen);
    }
}
