package io.whetstone.jobs.rollout;

import java.io.Serializable;

/**
 * A prompt of the RL data.
 *
 * @param index position in the input, from 0 (selects the prompt into iterations and seeds its samples)
 * @param id the record's {@code id}, or {@code source:line}
 * @param text the prompt text as the model sees it (after the task template)
 * @param ids the prompt's token ids, BOS first
 * @param reference the reference the rewards compare with ("" if none)
 */
public record PromptRecord(long index, String id, String text, int[] ids, String reference) implements Serializable {

    private static final long serialVersionUID = 1L;
}
