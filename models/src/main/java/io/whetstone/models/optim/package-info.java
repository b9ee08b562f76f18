/**
 * Optimisers and schedules over the flat parameter vector: AdamW with global-norm clipping and a
 * warm-up/cosine learning-rate schedule. Depends on the engine's parameter store and kernels.
 */
package io.whetstone.models.optim;
