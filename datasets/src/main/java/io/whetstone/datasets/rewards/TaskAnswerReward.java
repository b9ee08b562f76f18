package io.whetstone.datasets.rewards;

import io.whetstone.datasets.tasks.FinalAnswer;
import java.util.Optional;

/**
 * The built-in task's verifier as a reward: 1 when the completion's {@code ####} answer equals the
 * reference's exactly (after trimming), else 0. The reference may be a whole solution ending in
 * {@code #### answer} or just the answer.
 */
public final class TaskAnswerReward implements Reward {

    private static final long serialVersionUID = 1L;

    @Override
    public double score(RewardInput input) {
        String expected = FinalAnswer.marked(input.reference()).orElse(input.reference().trim());
        if (expected.isEmpty()) {
            throw new IllegalArgumentException("the prompt has no reference answer");
        }
        Optional<String> answer = FinalAnswer.marked(input.completion());
        return answer.isPresent() && answer.get().equals(expected) ? 1 : 0;
    }
}
