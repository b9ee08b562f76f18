package io.whetstone.models.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * Forward KL, reverse KL and generalized JSD (two betas), at two temperatures, over the full vocabulary
 * and over a top-3 support, with their gradients, against PyTorch autograd in float64
 * ({@code src/test/resources/golden/make_distill_golden.py} wrote {@code distill.json}).
 */
class DistillGoldenValuesTest {

    private static final double TOLERANCE = 1e-10;

    @Test
    void divergencesAndGradientsMatchPyTorch() throws IOException {
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("/golden/distill.json")) {
            golden = new ObjectMapper().readTree(in);
        }
        int checked = 0;
        for (JsonNode c : golden.path("cases")) {
            Divergence kind = Divergence.parse(c.path("divergence").asText());
            DistillLoss loss = new DistillLoss(kind, c.path("beta").asDouble(), c.path("temperature").asDouble());
            TokenDivergence divergence = new TokenDivergence(loss);
            String name = kind + " beta " + loss.beta() + " T " + loss.temperature();
            for (int i = 0; i < c.path("student").size(); i++) {
                double[] student = doubles(c.path("student").get(i));
                double[] gradient = new double[student.length];
                double full = divergence.full(student, doubles(c.path("teacher").get(i)), gradient);
                assertEquals(c.path("full_loss").get(i).asDouble(), full, TOLERANCE, name + " full, position " + i);
                assertClose(doubles(c.path("full_grad").get(i)), gradient, name + " full gradient, position " + i);

                JsonNode ids = c.path("topk_ids").get(i);
                int[] topIds = new int[ids.size()];
                float[] topLogProbs = new float[ids.size()];
                for (int k = 0; k < topIds.length; k++) {
                    topIds[k] = ids.get(k).asInt();
                    topLogProbs[k] = (float) c.path("topk_logprobs").get(i).get(k).asDouble();
                }
                double top = divergence.topK(student, topIds, topLogProbs, gradient);
                assertEquals(c.path("topk_loss").get(i).asDouble(), top, TOLERANCE, name + " top-k, position " + i);
                assertClose(doubles(c.path("topk_grad").get(i)), gradient, name + " top-k gradient, position " + i);
                checked++;
            }
        }
        assertEquals(40, checked);
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int j = 0; j < expected.length; j++) {
            assertEquals(expected[j], actual[j], TOLERANCE, what + " [" + j + "]");
        }
    }

    private static double[] doubles(JsonNode node) {
        double[] out = new double[node.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = node.get(i).asDouble();
        }
        return out;
    }
}
