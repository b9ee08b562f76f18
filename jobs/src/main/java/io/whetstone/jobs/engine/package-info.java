/**
 * The distributed engine: rounds of data-parallel training over Spark (parameter averaging or
 * synchronous gradient aggregation), the per-partition work, deterministic data order and aggregation,
 * and the executor-side model pool.
 */
package io.whetstone.jobs.engine;
