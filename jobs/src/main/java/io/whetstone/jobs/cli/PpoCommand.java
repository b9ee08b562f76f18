package io.whetstone.jobs.cli;

import picocli.CommandLine.Command;

/** {@code whetstone ppo}: PPO with a value head on the policy. */
@Command(name = "ppo", mixinStandardHelpOptions = true,
        description = {"Online RL with PPO (a value head, GAE, adaptive KL) on Spark.",
                "A value head on the policy, GAE, clipped policy and value losses, a per-token KL penalty to the reference folded into the reward with an adaptive",
                "controller, advantage whitening. Rollouts are sampled and scored on the executors.",
                "Settings: conf/ppo.yaml documents every key; override any with key=value. Prints the last",
                "checkpoint on the last line; exits 3 when a guard band stopped the run."})
public final class PpoCommand extends RlCommand {

    @Override
    String algorithm() {
        return "ppo";
    }
}
