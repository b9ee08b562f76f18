package io.whetstone.jobs.rl;

import io.whetstone.datasets.pack.PackedSequence;
import java.io.Serializable;

/**
 * A row of an update: a rollout with its advantages (and PPO's value targets), or a replayed SFT row.
 * Per-token arrays run over the completion's tokens. {@code minibatches[e]} is the row's minibatch in
 * epoch e, fixed on the driver, so the update does not depend on how rows are partitioned.
 *
 * @param promptIds the prompt's ids (null for replay)
 * @param completionIds the completion's ids (null for replay)
 * @param oldLogProbs the sampling policy's log-probs (trainer pass)
 * @param refLogProbs the reference's log-probs (empty without a KL term in the loss)
 * @param advantages per-token advantages
 * @param oldValues PPO: the values at sampling time (empty for GRPO)
 * @param returns PPO: the value targets (empty for GRPO)
 * @param minibatches the row's minibatch per epoch
 * @param replay a replayed SFT row, or null
 * @param group the rollout's prompt index (its group: one minibatch takes a group whole); -1 for replay
 */
public record UpdateRow(int[] promptIds, int[] completionIds, float[] oldLogProbs, float[] refLogProbs,
                        float[] advantages, float[] oldValues, float[] returns, int[] minibatches,
                        PackedSequence replay, long group) implements Serializable {

    private static final long serialVersionUID = 2L;

    public boolean isReplay() {
        return replay != null;
    }

    /** The same row assigned to the given minibatch per epoch. */
    public UpdateRow withMinibatches(int[] assignment) {
        return new UpdateRow(promptIds, completionIds, oldLogProbs, refLogProbs, advantages, oldValues, returns,
                assignment, replay, group);
    }

    /** Tokens the loss counts: the completion's, or the replayed row's masked tokens. */
    public double countedTokens() {
        if (replay != null) {
            return replay.trainableTokens();
        }
        return completionIds.length;
    }
}
