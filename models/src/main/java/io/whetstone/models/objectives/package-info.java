/**
 * The objective contract and the plain objectives: an {@code Objective} maps a batch's forward outputs
 * (per-token log-probabilities, logits) to a loss, its gradients and a map of named metric sums that reach a
 * run's metrics without new record types; each has a plain double reference and a gradient check in the
 * tests. The distillation, preference and reward-model objectives live in their own packages. Depends on the
 * engine's {@code ForwardPass} and {@code TokenBatch} only.
 */
package io.whetstone.models.objectives;
