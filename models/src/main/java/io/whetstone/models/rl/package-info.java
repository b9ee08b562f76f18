/**
 * Reinforcement-learning math on top of the engine: advantages (GRPO group statistics, Dr. GRPO, RLOO,
 * GAE with whitening), the clipped policy-gradient losses of GRPO/DAPO and PPO with a k3 KL term to a
 * reference, PPO's clipped value loss and its adaptive KL controller. Losses are plain double loops over
 * the per-token log-probabilities the engine returns, so they are their own reference; the tests check
 * their derivatives by finite differences and their values against PyTorch.
 */
package io.whetstone.models.rl;
