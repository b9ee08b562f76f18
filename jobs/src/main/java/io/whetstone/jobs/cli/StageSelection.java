package io.whetstone.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options that choose and adjust a pipeline's stages, shared by {@code pipeline} and {@code demo}. */
final class StageSelection {

    @Option(names = "--only", split = ",", paramLabel = "stage",
            description = "run only these stages (comma-separated); the stages they read must have completed")
    List<String> only = new ArrayList<>();

    @Option(names = "--rerun", split = ",", paramLabel = "stage",
            description = "run these stages even if complete and unchanged (and so the stages after them)")
    List<String> rerun = new ArrayList<>();

    @Option(names = "--set", paramLabel = "stage.key=value",
            description = "a setting for one stage, as if in its 'set' (repeatable), e.g. --set sft.train.rounds=2")
    List<String> settings = new ArrayList<>();

    @Option(names = "--var", paramLabel = "name=value",
            description = "a value of the pipeline's vars (repeatable), used as $${vars.name}")
    List<String> vars = new ArrayList<>();
}
