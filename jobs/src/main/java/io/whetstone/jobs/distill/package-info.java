/**
 * Distillation jobs: {@code distill-data} samples chain-of-thought rationales from a teacher on the
 * executors, keeps the verified ones and writes an SFT corpus with its statistics ({@link
 * io.whetstone.jobs.distill.DistillDataJob}); logit distillation runs inside the SFT job with a teacher
 * (see {@link io.whetstone.jobs.config.DistillSpec}). Builds on the RL rollout workers and rewards.
 */
package io.whetstone.jobs.distill;
