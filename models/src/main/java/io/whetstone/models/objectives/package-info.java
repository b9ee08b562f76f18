/**
 * Training objectives: each maps per-token log-probabilities (and optionally logits) to a loss and its
 * gradient, with a plain double reference and a gradient check in the tests. Depends on the engine's
 * {@code ForwardPass} and {@code TokenBatch} only.
 */
package io.whetstone.models.objectives;
