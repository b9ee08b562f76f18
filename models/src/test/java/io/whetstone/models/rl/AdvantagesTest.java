package io.whetstone.models.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Advantage estimators and the adaptive KL controller on hand-computed cases. */
class AdvantagesTest {

    @Test
    void grpoCentresAndScalesByTheSampleStd() {
        double[] rewards = {1, 0, 0, 1};
        // mean 0.5, sample std sqrt(1/3)
        double s = Math.sqrt(1.0 / 3);
        assertArrayEquals(new double[] {0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s}, Advantages.grpo(rewards, true, 0), 1e-12);
        assertArrayEquals(new double[] {0.5, -0.5, -0.5, 0.5}, Advantages.grpo(rewards, false, 0), 1e-12);
        assertArrayEquals(new double[] {0, 0, 0}, Advantages.grpo(new double[] {2, 2, 2}, true, 1e-4), 0);
        assertThrows(IllegalArgumentException.class, () -> Advantages.grpo(new double[] {1}, true, 1e-4));
    }

    @Test
    void rlooSubtractsTheMeanOfTheOthers() {
        assertArrayEquals(new double[] {1 - 1.0 / 3, -2.0 / 3, -2.0 / 3, 1 - 1.0 / 3},
                Advantages.rloo(new double[] {1, 0, 0, 1}), 1e-12);
    }

    @Test
    void zeroVarianceGroupsAreDetected() {
        assertTrue(Advantages.zeroVariance(new double[] {1, 1, 1}));
        assertFalse(Advantages.zeroVariance(new double[] {1, 1, 0.5}));
    }

    @Test
    void gaeWithLambdaOneIsTheDiscountedReturnMinusTheValue() {
        double[] rewards = {0, 0, 1};
        double[] values = {0.2, 0.4, 0.6};
        double[][] gae = Advantages.gae(rewards, values, 0.9, 1.0);
        assertArrayEquals(new double[] {0.81 - 0.2, 0.9 - 0.4, 1 - 0.6}, gae[0], 1e-12);
        assertArrayEquals(new double[] {0.81, 0.9, 1}, gae[1], 1e-12);
        double[][] oneStep = Advantages.gae(rewards, values, 0.9, 0.0);
        assertArrayEquals(new double[] {0 + 0.9 * 0.4 - 0.2, 0 + 0.9 * 0.6 - 0.4, 1 - 0.6}, oneStep[0], 1e-12);
    }

    @Test
    void whiteningLeavesUnmaskedPositionsAlone() {
        double[] values = {1, 2, 3, 100};
        Advantages.whiten(values, new float[] {1, 1, 1, 0});
        assertArrayEquals(new double[] {-1, 0, 1, 100}, values, 1e-7);
    }

    @Test
    void adaptiveKlGrowsAboveTargetAndShrinksBelow() {
        AdaptiveKlController controller = new AdaptiveKlController(0.1, 6, 100);
        assertEquals(0.1 * (1 + 0.2 * 10 / 100.0), controller.update(12, 10), 1e-12);
        controller.set(0.1);
        // KL at half the target: the error -0.5 is clipped to -0.2
        assertEquals(0.1 * (1 - 0.2 * 10 / 100.0), controller.update(3, 10), 1e-12);
    }
}
