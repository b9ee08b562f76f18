package io.whetstone.jobs.engine;

import java.io.Serializable;

/**
 * What one partition returns from a round. In averaging mode: its parameters and optimiser state
 * after its local steps, weighted by the tokens it trained on. In gradient mode: the gradient of its
 * token-summed loss in {@code params} (weight 1, no optimiser state).
 *
 * @param partition index
 * @param params [P] parameters (averaging) or summed gradient (gradient mode)
 * @param optimizerState [P] vectors (averaging only)
 * @param weight averaging weight (tokens trained on) or 1
 * @param lossSum sum over counted tokens of their loss
 * @param tokens counted (masked-in) tokens
 * @param rows rows processed
 * @param computeNanos time spent computing in the task
 */
public record PartitionResult(int partition, float[] params, float[][] optimizerState, double weight, double lossSum,
                              double tokens, long rows, long computeNanos) implements Serializable {

    private static final long serialVersionUID = 1L;
}
