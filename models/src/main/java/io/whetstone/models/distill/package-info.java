/**
 * Logit distillation: the divergences between a teacher's next-token distribution and the student's
 * (forward KL, reverse KL, generalized Jensen-Shannon, each at a temperature), over the whole vocabulary
 * or over a teacher's precomputed top-k support, and the objective that mixes them with the data's
 * cross-entropy. Plain double loops over the engine's logits, so they are their own reference; the tests
 * check their derivatives by finite differences and their values against PyTorch. Depends on the engine
 * and objectives only.
 */
package io.whetstone.models.distill;
