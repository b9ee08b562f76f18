/**
 * Learning from preferences: the DPO family's pairwise losses (DPO with optional label smoothing, IPO,
 * SimPO, ORPO) and KTO's unpaired loss, as functions of sequence log-probabilities with closed-form
 * gradients, and the {@code Objective}s that apply them to a model's batch (pairs as adjacent rows,
 * chosen first). Depends on the engine and {@code objectives} only; the plain double references and the
 * PyTorch golden values live in the tests.
 */
package io.whetstone.models.preference;
