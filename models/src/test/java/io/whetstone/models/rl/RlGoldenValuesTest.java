package io.whetstone.models.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.models.engine.TokenBatch;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * The GRPO and PPO losses, their advantages and their gradients against PyTorch (float64), computed by
 * {@code src/test/resources/golden/make_rl_golden.py} from the definitions TRL and veRL use, on fixed
 * inputs stored in the JSON. Per-token inputs travel as floats in a {@link PolicyBatch}, so agreement is
 * to float precision.
 */
class RlGoldenValuesTest {

    private static final double TOLERANCE = 2e-6;

    @Test
    void grpoAdvantagesLossesAndGradientsMatchPyTorch() throws IOException {
        JsonNode golden = golden();
        int rows = golden.path("shape").get(0).asInt();
        int seqLen = golden.path("shape").get(1).asInt();
        int group = golden.path("group_size").asInt();
        double[] rewards = doubles(golden.path("rewards"));
        float[] mask = floats(golden.path("mask"));
        for (JsonNode c : golden.path("grpo")) {
            boolean scale = c.path("scale_by_std").asBoolean();
            double[] advantages = new double[rows];
            for (int g = 0; g < rows / group; g++) {
                double[] groupRewards = java.util.Arrays.copyOfRange(rewards, g * group, (g + 1) * group);
                System.arraycopy(Advantages.grpo(groupRewards, scale, golden.path("eps").asDouble()), 0, advantages,
                        g * group, group);
            }
            assertClose(doubles(c.path("advantages")), advantages, "advantages of " + c);
            float[] tokenAdvantages = new float[rows * seqLen];
            for (int i = 0; i < tokenAdvantages.length; i++) {
                tokenAdvantages[i] = (float) advantages[i / seqLen];
            }
            PolicyBatch batch = new PolicyBatch(tokens(rows, seqLen, mask), floats(golden.path("old")),
                    floats(golden.path("ref")), tokenAdvantages);
            boolean tokenLevel = c.path("level").asText().equals("token");
            ClippedPolicyLoss loss = new ClippedPolicyLoss(golden.path("clip_low").asDouble(),
                    golden.path("clip_high").asDouble(), c.path("beta").asDouble(),
                    tokenLevel ? ClippedPolicyLoss.Normalization.TOKEN : ClippedPolicyLoss.Normalization.SEQUENCE,
                    c.path("clip_ratio_c").asDouble(0), ClippedPolicyLoss.Ratio.parse(c.path("ratio").asText("token")));
            ClippedPolicyLoss.Result result = loss.evaluate(doubles(golden.path("logp")), batch,
                    tokenLevel ? batch.maskedTokens() : batch.sequences());
            assertEquals(c.path("loss").asDouble(), result.loss(), TOLERANCE, "loss of " + c.path("level"));
            assertClose(doubles(c.path("grad")), result.dLogProbs(), "gradient of " + c.path("level"));
        }
    }

    @Test
    void ppoRewardsAdvantagesAndLossesMatchPyTorch() throws IOException {
        JsonNode golden = golden();
        JsonNode ppo = golden.path("ppo");
        int rows = golden.path("shape").get(0).asInt();
        int seqLen = golden.path("shape").get(1).asInt();
        float[] mask = floats(golden.path("mask"));
        float[] old = floats(golden.path("old"));
        float[] ref = floats(golden.path("ref"));
        double[] oldValues = doubles(golden.path("old_values"));
        double[] scores = doubles(golden.path("scores"));
        double[] tokenRewards = new double[rows * seqLen];
        double[] advantages = new double[rows * seqLen];
        double[] returns = new double[rows * seqLen];
        for (int b = 0; b < rows; b++) {
            java.util.List<Integer> counted = new java.util.ArrayList<>();
            for (int t = 0; t < seqLen; t++) {
                if (mask[b * seqLen + t] > 0) {
                    counted.add(b * seqLen + t);
                }
            }
            float[] seqOld = new float[counted.size()];
            float[] seqRef = new float[counted.size()];
            double[] seqValues = new double[counted.size()];
            for (int k = 0; k < counted.size(); k++) {
                seqOld[k] = old[counted.get(k)];
                seqRef[k] = ref[counted.get(k)];
                seqValues[k] = oldValues[counted.get(k)];
            }
            double[] r = Advantages.klShapedRewards(scores[b], seqOld, seqRef, golden.path("kl_coef").asDouble());
            double[][] gae = Advantages.gae(r, seqValues, golden.path("gamma").asDouble(),
                    golden.path("lambda").asDouble());
            for (int k = 0; k < counted.size(); k++) {
                tokenRewards[counted.get(k)] = r[k];
                advantages[counted.get(k)] = gae[0][k];
                returns[counted.get(k)] = gae[1][k];
            }
        }
        assertClose(doubles(ppo.path("token_rewards")), tokenRewards, "token rewards");
        assertClose(doubles(ppo.path("returns")), returns, "returns");
        Advantages.whiten(advantages, mask);
        assertClose(doubles(ppo.path("advantages")), advantages, "whitened advantages");

        float[] tokenAdvantages = new float[advantages.length];
        for (int i = 0; i < advantages.length; i++) {
            tokenAdvantages[i] = (float) advantages[i];
        }
        PolicyBatch batch = new PolicyBatch(tokens(rows, seqLen, mask), old, ref, tokenAdvantages);
        ClippedPolicyLoss policy = new ClippedPolicyLoss(golden.path("clip_low").asDouble(),
                golden.path("clip_high").asDouble(), 0, ClippedPolicyLoss.Normalization.TOKEN);
        ClippedPolicyLoss.Result pg = policy.evaluate(doubles(golden.path("logp")), batch, batch.maskedTokens());
        double vfCoef = golden.path("vf_coef").asDouble();
        ValueLoss.Result vf = new ValueLoss(golden.path("value_clip").asDouble()).evaluate(doubles(golden.path("values")),
                oldValues, returns, mask, batch.maskedTokens());
        assertEquals(ppo.path("policy_loss").asDouble(), pg.loss(), TOLERANCE, "policy loss");
        assertEquals(ppo.path("value_loss").asDouble(), vf.loss(), TOLERANCE, "value loss");
        assertEquals(ppo.path("loss").asDouble(), pg.loss() + vfCoef * vf.loss(), TOLERANCE, "total loss");
        assertClose(doubles(ppo.path("grad_logp")), pg.dLogProbs(), "d loss / d logp");
        double[] dValues = vf.dValues().clone();
        for (int i = 0; i < dValues.length; i++) {
            dValues[i] *= vfCoef;
        }
        assertClose(doubles(ppo.path("grad_values")), dValues, "d loss / d values");
    }

    static TokenBatch tokens(int rows, int seqLen, float[] mask) {
        int[] ids = new int[rows * seqLen];
        int[] targets = new int[rows * seqLen];
        return new TokenBatch(ids, targets, mask, rows, seqLen);
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOLERANCE * Math.max(1, Math.abs(expected[i])), what + " at " + i);
        }
    }

    private static JsonNode golden() throws IOException {
        try (InputStream in = RlGoldenValuesTest.class.getResourceAsStream("/golden/rl.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }
}
