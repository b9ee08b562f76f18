package io.whetstone.jobs.config;

import java.util.Set;

/**
 * The optimisation. Each round, every partition takes {@code averaging_frequency} local steps of
 * {@code batch_size_per_worker} rows and the driver averages parameters and optimiser moments weighted
 * by tokens ({@code mode: averaging}); or, with {@code mode: gradient}, every partition computes the
 * gradient of one batch and the driver sums them and takes one step (averaging_frequency must be 1).
 */
public record TrainSpec(String mode, int rounds, int averagingFrequency, int batchSizePerWorker, String optimizer,
                        double lr, int warmupSteps, double minLrRatio, double weightDecay, double beta1, double beta2,
                        double eps, double maxGradNorm, long seed) {

    public TrainSpec {
        mode = Checks.oneOf("train.mode", mode, Set.of("averaging", "gradient"));
        optimizer = Checks.oneOf("train.optimizer", optimizer, Set.of("adamw", "sgd"));
        Checks.require(rounds >= 1, "train.rounds must be >= 1, got " + rounds);
        Checks.require(averagingFrequency >= 1, "train.averaging_frequency must be >= 1, got " + averagingFrequency);
        Checks.require(!mode.equals("gradient") || averagingFrequency == 1,
                "train.mode gradient takes one step per round: set train.averaging_frequency=1");
        Checks.require(batchSizePerWorker >= 1, "train.batch_size_per_worker must be >= 1, got " + batchSizePerWorker);
        Checks.require(lr > 0, "train.lr must be > 0, got " + lr);
        Checks.require(warmupSteps >= 0, "train.warmup_steps must be >= 0, got " + warmupSteps);
        Checks.require(minLrRatio >= 0 && minLrRatio <= 1, "train.min_lr_ratio must be in [0, 1], got " + minLrRatio);
        Checks.require(weightDecay >= 0, "train.weight_decay must be >= 0, got " + weightDecay);
        Checks.require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "train.beta1 and beta2 must be in [0, 1)");
        Checks.require(eps > 0, "train.eps must be > 0, got " + eps);
        Checks.require(maxGradNorm >= 0, "train.max_grad_norm must be >= 0 (0: no clipping), got " + maxGradNorm);
    }

    /** Optimiser steps per partition over the run. */
    public long totalSteps() {
        return (long) rounds * averagingFrequency;
    }
}
