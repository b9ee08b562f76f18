package io.whetstone.jobs.cli;

import picocli.CommandLine.Command;

/** {@code whetstone grpo}: GRPO (and its DAPO, Dr. GRPO and RLOO variants) on Spark. */
@Command(name = "grpo", mixinStandardHelpOptions = true,
        description = {"Online RL with group-relative advantages (GRPO, DAPO, Dr. GRPO, RLOO) on Spark.",
                "The executors sample a group of completions per prompt from the broadcast policy and score them with verifiable or model rewards; the",
                "policy is updated with the clipped objective (clip-higher, k3 KL to a reference, token or",
                "sequence normalisation, dynamic sampling, RLOO). Settings: conf/grpo.yaml documents every",
                "key; override any with key=value. Prints the last checkpoint on the last line; exits 3 when",
                "a guard band stopped the run."})
public final class GrpoCommand extends RlCommand {

    @Override
    String algorithm() {
        return "grpo";
    }
}
