/**
 * The distributed engine every training job but RL uses: rounds of data-parallel training over Spark
 * (parameter averaging or synchronous gradient aggregation) on rows of any kind ({@code RowAdapter}: packed
 * SFT rows, preference units), the per-partition work, deterministic data order, the driver's double-precision
 * sums of parameters and the objectives' metrics, the round loop (progress, metrics, checkpoints), corpus
 * annotations by a frozen model, and the executor-side pools of trained and frozen models. May depend on
 * {@code datasets} and {@code models}; the jobs depend on it.
 */
package io.whetstone.jobs.engine;
