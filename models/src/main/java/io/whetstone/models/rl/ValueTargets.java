package io.whetstone.models.rl;

/**
 * PPO's value targets of a batch, per position [B*T]: the values at sampling time (the clip's centre) and
 * the returns the value head regresses on.
 *
 * @param oldValues [B*T] values when the rollouts were sampled
 * @param returns [B*T] the value targets
 */
public record ValueTargets(double[] oldValues, double[] returns) {
}
