package io.whetstone.jobs.tts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Beam search on a toy problem with a known optimum: a solution is three digits, each step one digit; the scorer
 * rewards matching a hidden target digit by digit. Beam search finds the target where sampling one solution
 * rarely does, counts every drawn token, and stops early once enough solutions are finished.
 */
class BeamSearchTest {

    private static final String TARGET = "731";

    /** Draws a digit per step, deterministic in (question, depth, beam, draw); the third step finishes. */
    private static final BeamSearch.Expander DIGITS = requests -> {
        List<BeamSearch.Step> out = new ArrayList<>();
        for (BeamSearch.Request r : requests) {
            Random random = new Random(((r.question() * 31L + r.depth()) * 31 + r.beam()) * 31 + r.draw());
            out.add(new BeamSearch.Step(Integer.toString(random.nextInt(10)), 1, r.prefix().length() == 2));
        }
        return out;
    };

    /** Digits matching the target's prefix, then a small penalty for the rest. */
    private static final BeamSearch.Scorer MATCH = (questions, texts) -> {
        List<BeamSearch.Scored> out = new ArrayList<>();
        for (String text : texts) {
            int right = 0;
            while (right < text.length() && text.charAt(right) == TARGET.charAt(right)) {
                right++;
            }
            out.add(new BeamSearch.Scored(right - 0.01 * (text.length() - right), 0));
        }
        return out;
    };

    @Test
    void aWideEnoughBeamFindsTheOptimumAndCountsEveryDraw() {
        List<Choice> wide = new BeamSearch(4, 10, 8).search(3, DIGITS, MATCH, text -> text);
        for (Choice choice : wide) {
            assertEquals(TARGET, choice.answer());
            // depth 0: 1 beam x 10 draws; depths 1-2: 4 beams x 10 draws each
            assertEquals(10 + 40 + 40, choice.tokens());
            assertEquals(40, choice.candidates());
        }
        List<Choice> narrow = new BeamSearch(1, 1, 8).search(3, DIGITS, MATCH, text -> text);
        long found = narrow.stream().filter(choice -> TARGET.equals(choice.answer())).count();
        assertTrue(found < 3, "one draw per step rarely hits all three digits");
        for (Choice choice : narrow) {
            assertEquals(3, choice.tokens());
            assertEquals(3, choice.answer().length());
        }
    }

    @Test
    void theSearchStopsAtMaxStepsWithTheBestPartialSolution() {
        List<Choice> shallow = new BeamSearch(2, 10, 2).search(1, DIGITS, MATCH, text -> text);
        assertEquals("73", shallow.get(0).answer(), "no solution finished within 2 steps: the best partial one");
    }
}
