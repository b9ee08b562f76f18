/**
 * Prompts in, scored completions out, shared by every job that samples: reading and validating prompt sets
 * ({@link io.whetstone.jobs.rollout.PromptReader}), the sampling settings, generation and scoring with a
 * loaded policy ({@link io.whetstone.jobs.rollout.SampleGenerator}), a sampling task for jobs whose policy is
 * fixed ({@link io.whetstone.jobs.rollout.SamplingTask}: chain-of-thought corpora, preference pairs), and the
 * reward components including a reward model. RL adds its log-prob passes on top; nothing here depends on
 * any job's config.
 */
package io.whetstone.jobs.rollout;
