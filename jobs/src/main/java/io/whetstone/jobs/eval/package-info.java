/** Evaluation jobs: held-out task accuracy with verifiers, distributed over the executors. */
package io.whetstone.jobs.eval;
