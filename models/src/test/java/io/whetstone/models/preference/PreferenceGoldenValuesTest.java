package io.whetstone.models.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.objectives.ObjectiveResult;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DPO (with label smoothing and an SFT term), DPO-Positive, IPO, SimPO, ORPO and KTO against PyTorch (float64),
 * computed by {@code src/test/resources/golden/make_preference_golden.py} from TRL's formulas on fixed
 * per-token log-probs stored in the JSON: the loss, its gradient with respect to every per-token log-prob,
 * and the reported sums. The reference's sequence log-probs are summed here in a plain loop.
 */
class PreferenceGoldenValuesTest {

    private static final double TOLERANCE = 1e-10;

    @Test
    void everyLossItsGradientAndItsMetricsMatchPyTorch() throws IOException {
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("/golden/preference.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        int rows = golden.path("shape").get(0).asInt();
        int seqLen = golden.path("shape").get(1).asInt();
        double[] mask = doubles(golden.path("mask"));
        double[] logp = doubles(golden.path("logp"));
        double[] ref = doubles(golden.path("ref"));
        boolean[] labels = new boolean[rows];
        for (int b = 0; b < rows; b++) {
            labels[b] = golden.path("labels").get(b).asBoolean();
        }
        TokenBatch batch = batch(rows, seqLen, mask);
        double[] refSums = new double[rows];
        for (int b = 0; b < rows; b++) {
            for (int t = 0; t < seqLen; t++) {
                refSums[b] += mask[b * seqLen + t] * ref[b * seqLen + t];
            }
        }
        INDArray logProbs = Nd4j.createFromArray(logp).reshape('c', rows, seqLen);
        ForwardPass pass = new ForwardPass(logProbs, null, batch.targets(), rows, seqLen);
        int checked = 0;
        for (JsonNode c : golden.path("cases")) {
            String name = c.path("loss").asText();
            Objective objective = name.equals("kto")
                    ? new KtoObjective(new KtoSettings(c.path("beta").asDouble(), c.path("desirable_weight").asDouble(),
                            c.path("undesirable_weight").asDouble()), ignored -> refSums, ignored -> labels)
                    : new PreferenceObjective(new PreferenceSettings(PreferenceLoss.parse(name),
                            c.path("beta").asDouble(), c.path("label_smoothing").asDouble(0),
                            c.path("simpo_gamma").asDouble(0), c.path("sft_weight").asDouble(0),
                            c.path("dpop_lambda").asDouble(0)), ignored -> refSums);
            ObjectiveResult result = objective.evaluate(pass, batch, objective.defaultNormalizer(batch));
            assertEquals(c.path("value").asDouble(), result.loss(), TOLERANCE, "loss of " + c);
            double[] grad = doubles(c.path("grad"));
            double[] actual = result.dLogProbs().reshape(rows * seqLen).toDoubleVector();
            for (int i = 0; i < grad.length; i++) {
                assertEquals(grad[i], actual[i], TOLERANCE, "d loss / d logp[" + i + "] of " + c);
            }
            Iterator<Map.Entry<String, JsonNode>> metrics = c.path("metrics").fields();
            while (metrics.hasNext()) {
                Map.Entry<String, JsonNode> metric = metrics.next();
                Double value = result.metrics().get(metric.getKey());
                assertEquals(metric.getValue().asDouble(), value == null ? Double.NaN : value, TOLERANCE,
                        metric.getKey() + " of " + c);
            }
            checked++;
        }
        assertEquals(11, checked);
    }

    /** Rows with every position a target (the mask picks the counted ones). */
    static TokenBatch batch(int rows, int seqLen, double[] mask) {
        int n = rows * seqLen;
        int[] tokens = new int[n];
        int[] targets = new int[n];
        float[] weights = new float[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = i % 7;
            targets[i] = (i + 1) % 7;
            weights[i] = (float) mask[i];
        }
        return new TokenBatch(tokens, targets, weights, rows, seqLen);
    }

    private static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }
}
