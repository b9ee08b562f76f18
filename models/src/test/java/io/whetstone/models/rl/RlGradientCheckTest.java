package io.whetstone.models.rl;

import static io.whetstone.models.GradientCheck.maxRelativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.TinyModels;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Finite differences in double precision: the clipped policy loss (both normalisations, clip-higher, the
 * k3 KL term) and the clipped value loss against their analytic gradients, and the whole policy objective
 * (policy loss + value loss through the value head + replayed cross-entropy, through the transformer) tensor by
 * tensor.
 */
class RlGradientCheckTest {

    private static final double H = 1e-6;

    @ParameterizedTest
    @EnumSource(ClippedPolicyLoss.Normalization.class)
    void clippedPolicyLossGradientMatchesFiniteDifferences(ClippedPolicyLoss.Normalization normalization) {
        Random random = new Random(11);
        int rows = 4;
        int seqLen = 6;
        PolicyBatch batch = randomBatch(random, rows, seqLen, true);
        double[] logProbs = moved(batch, random, 0.4);
        ClippedPolicyLoss loss = new ClippedPolicyLoss(0.2, 0.28, 0.05, normalization);
        double normalizer = normalization == ClippedPolicyLoss.Normalization.TOKEN ? batch.maskedTokens()
                : batch.sequences();
        ClippedPolicyLoss.Result result = loss.evaluate(logProbs, batch, normalizer);
        assertTrue(result.clippedTokens() > 0, "the inputs should exercise the clipped branch");
        assertTrue(result.clippedTokens() < result.tokens(), "and the unclipped one");
        assertMatchesFiniteDifferences(loss, logProbs, batch, normalizer, result);
    }

    /** GSPO's sequence-level ratio: each token's gradient collects every token of its row through the row's mean. */
    @ParameterizedTest
    @EnumSource(ClippedPolicyLoss.Normalization.class)
    void sequenceRatioGradientMatchesFiniteDifferences(ClippedPolicyLoss.Normalization normalization) {
        Random random = new Random(13);
        int rows = 8;
        int seqLen = 6;
        PolicyBatch batch = randomBatch(random, rows, seqLen, true);
        double[] logProbs = moved(batch, random, 0.8);
        ClippedPolicyLoss loss = new ClippedPolicyLoss(0.05, 0.05, 0.05, normalization, 0,
                ClippedPolicyLoss.Ratio.SEQUENCE);
        double normalizer = normalization == ClippedPolicyLoss.Normalization.TOKEN ? batch.maskedTokens()
                : batch.sequences();
        ClippedPolicyLoss.Result result = loss.evaluate(logProbs, batch, normalizer);
        assertTrue(result.clippedTokens() > 0 && result.clippedTokens() < result.tokens(),
                "the inputs should exercise both branches: " + result.clippedTokens() + " of " + result.tokens());
        assertMatchesFiniteDifferences(loss, logProbs, batch, normalizer, result);
    }

    /** The dual clip: exercised on tokens with A < 0 and r past c, where the loss is a constant -c A. */
    @Test
    void dualClipGradientMatchesFiniteDifferences() {
        Random random = new Random(12);
        int rows = 4;
        int seqLen = 6;
        PolicyBatch batch = randomBatch(random, rows, seqLen, true);
        double[] logProbs = moved(batch, random, 0.6);
        ClippedPolicyLoss plain = new ClippedPolicyLoss(0.2, 0.28, 0.05, ClippedPolicyLoss.Normalization.TOKEN);
        ClippedPolicyLoss loss = new ClippedPolicyLoss(0.2, 0.28, 0.05, ClippedPolicyLoss.Normalization.TOKEN, 1.5);
        ClippedPolicyLoss.Result result = loss.evaluate(logProbs, batch, batch.maskedTokens());
        ClippedPolicyLoss.Result without = plain.evaluate(logProbs, batch, batch.maskedTokens());
        assertTrue(result.clippedTokens() > without.clippedTokens(), "the inputs should reach the dual clip");
        assertTrue(result.loss() < without.loss(), "the dual clip only lowers token losses");
        assertMatchesFiniteDifferences(loss, logProbs, batch, batch.maskedTokens(), result);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new ClippedPolicyLoss(0.2, 0.2, 0, ClippedPolicyLoss.Normalization.TOKEN, 0.9));
    }

    /** The batch's old log-probs, each moved by a normal draw of standard deviation {@code spread}. */
    private static double[] moved(PolicyBatch batch, Random random, double spread) {
        double[] logProbs = new double[batch.oldLogProbs().length];
        for (int i = 0; i < logProbs.length; i++) {
            logProbs[i] = batch.oldLogProbs()[i] + random.nextGaussian() * spread;
        }
        return logProbs;
    }

    /** {@code result}'s gradient against central differences of {@code loss} at every position. */
    private static void assertMatchesFiniteDifferences(ClippedPolicyLoss loss, double[] logProbs, PolicyBatch batch,
                                                       double normalizer, ClippedPolicyLoss.Result result) {
        for (int i = 0; i < logProbs.length; i++) {
            double original = logProbs[i];
            logProbs[i] = original + H;
            double plus = loss.evaluate(logProbs, batch, normalizer).loss();
            logProbs[i] = original - H;
            double minus = loss.evaluate(logProbs, batch, normalizer).loss();
            logProbs[i] = original;
            assertEquals((plus - minus) / (2 * H), result.dLogProbs()[i], 1e-7, "position " + i);
        }
    }

    @Test
    void valueLossGradientMatchesFiniteDifferences() {
        Random random = new Random(5);
        int n = 30;
        double[] values = new double[n];
        double[] oldValues = new double[n];
        double[] returns = new double[n];
        float[] mask = new float[n];
        for (int i = 0; i < n; i++) {
            oldValues[i] = random.nextGaussian();
            values[i] = oldValues[i] + random.nextGaussian() * 0.3;
            returns[i] = random.nextGaussian();
            mask[i] = random.nextDouble() < 0.8 ? 1 : 0;
        }
        ValueLoss loss = new ValueLoss(0.2);
        ValueLoss.Result result = loss.evaluate(values, oldValues, returns, mask, 17);
        assertTrue(result.clippedTokens() > 0, "the inputs should exercise the clipped branch");
        for (int i = 0; i < n; i++) {
            double original = values[i];
            values[i] = original + H;
            double plus = loss.evaluate(values, oldValues, returns, mask, 17).loss();
            values[i] = original - H;
            double minus = loss.evaluate(values, oldValues, returns, mask, 17).loss();
            values[i] = original;
            assertEquals((plus - minus) / (2 * H), result.dValues()[i], 1e-7, "position " + i);
        }
    }

    /**
     * The policy objective on a model with the value head appended to its parameters: a rollout batch (clipped
     * policy loss with its KL term, value loss through the head) and a replayed SFT batch (cross-entropy) in one
     * step, each term over its own normaliser.
     */
    @ParameterizedTest(name = "temperature {0}")
    @org.junit.jupiter.params.provider.ValueSource(doubles = {1.0, 0.7})
    void ppoObjectiveThroughValueHeadAndModelMatchesFiniteDifferences(double temperature) {
        ModelConfig config = TinyModels.llama();
        Random random = new Random(3);
        try (Transformer model = new Transformer(config, new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE,
                1), null, ValueHead.layout(config.width()))) {
            model.initialize(7);
            model.parameters().params().muli(4);
            model.setTemperature(temperature);
            ValueHead head = new ValueHead(model.parameters());
            // from the test's seeded Random, not ND4J's global generator (whose state depends on the tests run
            // before): an unseeded head once put a token on the clip boundary, where finite differences fail
            double[] headInit = new double[config.width() + 1];
            for (int i = 0; i < headInit.length; i++) {
                headInit[i] = random.nextGaussian() * 0.5;
            }
            long headOffset = model.parameters().layout().offset("value_head.weight");
            assertEquals(io.whetstone.models.engine.ParameterLayout.of(config).length(), headOffset,
                    "the head comes after the model's tensors: RL checkpoints store model then head");
            INDArray headParams = model.parameters().params().get(
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(headOffset, headOffset + headInit.length));
            headParams.assign(Nd4j.createFromArray(headInit));
            TokenBatch tokens = TinyModels.batch(config, 2, 5, 42);
            TokenBatch replay = TinyModels.batch(config, 1, 5, 43);
            PolicyBatch shape = randomBatch(random, 2, 5, true);
            // old log-probs near the model's own, so that ratios fall both inside and outside the clip range
            double[] current = model.forward(tokens.tokens(), tokens.targets(), 2, 5).logProbs().reshape(10)
                    .toDoubleVector();
            float[] old = new float[10];
            for (int i = 0; i < 10; i++) {
                old[i] = (float) (current[i] + random.nextGaussian() * 0.3);
            }
            PolicyBatch batch = new PolicyBatch(tokens, old, shape.refLogProbs(), shape.advantages());
            double[] oldValues = new double[10];
            double[] returns = new double[10];
            for (int i = 0; i < 10; i++) {
                oldValues[i] = random.nextGaussian() * 0.5;
                returns[i] = random.nextGaussian();
            }
            java.util.Map<TokenBatch, PolicyObjective.Targets> targets = new java.util.IdentityHashMap<>();
            targets.put(tokens, PolicyObjective.Targets.rollouts(batch, new ValueTargets(oldValues, returns)));
            targets.put(replay, PolicyObjective.Targets.replayed());
            double counted = tokens.maskedTokens() + replay.maskedTokens();
            PolicyObjective.Normalizers norms = new PolicyObjective.Normalizers(tokens.maskedTokens(),
                    tokens.maskedTokens(), replay.maskedTokens(), counted);
            PolicyObjective objective = new PolicyObjective(new ClippedPolicyLoss(0.2, 0.2, 0.1,
                    ClippedPolicyLoss.Normalization.TOKEN), head, new ValueLoss(0.5), 0.7, 0.3,
                    new PolicyObjective.Source() {
                        @Override
                        public PolicyObjective.Targets targets(TokenBatch b) {
                            return targets.get(b);
                        }

                        @Override
                        public PolicyObjective.Normalizers normalizers() {
                            return norms;
                        }
                    });
            DoubleSupplier loss = () -> {
                model.parameters().zeroGrads();
                double sum = 0;
                for (TokenBatch b : java.util.List.of(tokens, replay)) {
                    var pass = model.forward(b.tokens(), b.targets(), b.batch(), b.seqLen());
                    var result = objective.evaluate(pass, b, counted);
                    model.backward(result.dLogProbs(), result.dLogits(), result.dHidden());
                    sum += result.loss();
                }
                return sum;
            };
            loss.getAsDouble();
            INDArray grads = model.parameters().grads().dup();
            for (var spec : model.parameters().layout().tensors()) {
                long offset = model.parameters().layout().offset(spec.name());
                INDArray param = model.parameters().params().get(
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(offset, offset + spec.length()));
                INDArray grad = grads.get(
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(offset, offset + spec.length()));
                double error = maxRelativeError(param, grad, loss, spec.name().startsWith("value_head") ? 20 : 12);
                assertTrue(error < 1e-5, spec.name() + ": relative error " + error);
            }
        }
    }

    @Test
    void temperatureDividesTheLogits() {
        ModelConfig config = TinyModels.llama();
        try (Transformer model = new Transformer(config, new EngineOptions(DataType.DOUBLE, KernelChoice.REFERENCE, 1))) {
            model.initialize(7);
            TokenBatch tokens = TinyModels.batch(config, 2, 5, 42);
            INDArray plain = model.forward(tokens.tokens(), tokens.targets(), 2, 5).logits().dup();
            model.setTemperature(0.5);
            INDArray scaled = model.forward(tokens.tokens(), tokens.targets(), 2, 5).logits();
            assertTrue(plain.mul(2).equalsWithEps(scaled, 1e-12));
        }
    }

    static PolicyBatch randomBatch(Random random, int rows, int seqLen, boolean withReference) {
        int n = rows * seqLen;
        float[] mask = new float[n];
        float[] old = new float[n];
        float[] ref = new float[n];
        float[] advantages = new float[n];
        for (int b = 0; b < rows; b++) {
            double advantage = random.nextGaussian();
            for (int t = 0; t < seqLen; t++) {
                int i = b * seqLen + t;
                mask[i] = t == 0 || random.nextDouble() < 0.75 ? 1 : 0;
                old[i] = (float) (-random.nextDouble() * 3 - 0.05);
                ref[i] = (float) (old[i] + random.nextGaussian() * 0.2);
                advantages[i] = (float) advantage;
            }
        }
        return new PolicyBatch(RlGoldenValuesTest.tokens(rows, seqLen, mask), old, withReference ? ref : null,
                advantages);
    }
}
