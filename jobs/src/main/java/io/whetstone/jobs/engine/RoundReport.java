package io.whetstone.jobs.engine;

import io.whetstone.models.train.TrainingState;

/**
 * The outcome of one round on the driver.
 *
 * @param round 1-based round
 * @param state parameters and optimiser state after the round
 * @param loss mean loss over the round's normaliser units (across partitions and local steps)
 * @param tokens the round's normaliser units: counted tokens for SFT, pairs or examples for preferences
 * @param rows rows processed
 * @param learningRate rate of the round's last step
 * @param wallSeconds round time on the driver (broadcast, tasks, aggregation)
 * @param maxComputeSeconds compute on the critical path: the partitions' compute spread over the task
 *                          slots that run at once (at least the slowest partition's)
 * @param averagingSeconds the rest of the round's wall time: broadcast, task scheduling, result
 *                         transfer and aggregation
 * @param bytesBroadcast bytes of state broadcast
 * @param bytesReturned bytes of results sent back by the partitions
 * @param trainedTokens tokens the loss counted in the round
 * @param metrics the objective's named sums over the round (divide by the count it reports beside them)
 * @param steps optimiser steps the round took (1 in gradient mode; the most any partition took in averaging)
 * @param gradNorm the gradient norm before clipping: of the driver's step (gradient mode), or the mean over
 *                 the partitions' local steps (averaging)
 */
public record RoundReport(int round, TrainingState state, double loss, double tokens, long rows, double learningRate,
                          double wallSeconds, double maxComputeSeconds, double averagingSeconds, long bytesBroadcast,
                          long bytesReturned, double trainedTokens, java.util.Map<String, Double> metrics,
                          long steps, double gradNorm, Breakdown breakdown) {

    /**
     * A round's wall time by part; the parts add up to the wall time (task slots waiting on each other are in
     * aggregation).
     *
     * @param broadcastSeconds the driver serialising the state into broadcast blocks, plus the tasks' fetching and
     *                         deserialising them where it lengthens the round (0 for tasks that find them in their
     *                         own JVM)
     * @param fetchSeconds the tasks' part of {@code broadcastSeconds}: their critical path beyond compute, at most
     *                     the slowest fetch
     * @param computeSeconds the partitions' steps on the critical path
     * @param aggregationSeconds the rest of the Spark job: task launch, result serialisation and transfer, and
     *                           Spark's tree merge of the partitions' sums
     * @param driverStepSeconds the driver turning the sum into the next state (the weighted mean, or the
     *                          optimiser step in gradient mode)
     */
    public record Breakdown(double broadcastSeconds, double fetchSeconds, double computeSeconds, double aggregationSeconds,
                            double driverStepSeconds) {
    }
}
