package io.whetstone.datasets.rewards;

import io.whetstone.datasets.tasks.FinalAnswer;
import java.math.BigDecimal;
import java.util.Optional;

/**
 * GSM8K's numeric answer match: the number after {@code ####} in the reference (or the reference itself
 * when it is a number) against the completion's final number: the one after its {@code ####}, or else
 * its last number. Numbers compare as decimals after removing '$' and thousands separators, so "1,200"
 * equals "1200.0". 1 on a match, else 0.
 */
public final class Gsm8kAnswerReward implements Reward {

    private static final long serialVersionUID = 1L;

    @Override
    public double score(RewardInput input) {
        Optional<String> expected = FinalAnswer.gsm8kNumber(input.reference())
                .or(() -> FinalAnswer.lastNumber(input.reference()));
        if (expected.isEmpty()) {
            throw new IllegalArgumentException("the reference has no number: " + input.reference());
        }
        Optional<String> answer = FinalAnswer.gsm8kNumber(input.completion())
                .or(() -> FinalAnswer.lastNumber(input.completion()));
        return answer.isPresent() && sameNumber(answer.get(), expected.get()) ? 1 : 0;
    }

    static boolean sameNumber(String a, String b) {
        try {
            return new BigDecimal(a).compareTo(new BigDecimal(b)) == 0;
        } catch (NumberFormatException e) {
            return a.equals(b);
        }
    }
}
