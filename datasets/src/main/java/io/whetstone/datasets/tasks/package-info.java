/**
 * Built-in verifiable tasks (column arithmetic with written-out carries) with deterministic train/test
 * generation, and answer extraction and verification (the built-in task, GSM8K's {@code #### N}).
 */
package io.whetstone.datasets.tasks;
