/**
 * Single-worker training steps that tie the engine, an objective and an optimiser together. The Spark
 * jobs run one of these per partition.
 */
package io.whetstone.models.train;
