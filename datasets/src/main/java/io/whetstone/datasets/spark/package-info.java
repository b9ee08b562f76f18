/**
 * Corpora on any Hadoop path through Spark: reading JSONL and Parquet with exact line/row numbers,
 * validation (strict, or lenient with rejects written), tokenization on the executors, deterministic
 * sharding, packing and a Parquet cache of the result keyed by everything that determines it.
 */
package io.whetstone.datasets.spark;
