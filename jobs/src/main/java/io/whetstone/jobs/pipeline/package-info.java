/**
 * Nightly pipelines: named stages declared in one YAML file, each a Whetstone command, run in dependency order,
 * skipped when their output is complete and nothing that produced it changed, resumed after a kill, guarded by a
 * lock in the pipeline directory, and reported at the end.
 */
package io.whetstone.jobs.pipeline;
