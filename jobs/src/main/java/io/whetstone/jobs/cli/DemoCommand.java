package io.whetstone.jobs.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code whetstone demo}: the end-to-end demo, which is the pipeline {@code conf/pipelines/demo.yaml} (shipped in
 * the jar) run in a run directory of its own. Nothing here knows the stages: the file declares them.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"End-to-end demo of every stage on the built-in arithmetic task, in local mode.",
                "Runs the pipeline conf/pipelines/demo.yaml (inside the jar): the task's data; SFT from scratch;",
                "DPO-Positive on pairs of the SFT model's own right and wrong answers, and a reward model on them; a",
                "process reward model on Monte-Carlo step labels; test-time scaling of the SFT model at 1-16 samples per",
                "problem; GRPO with the task's verifier as reward; distillation of the GRPO model into a student a",
                "quarter of its size, against the same student trained with SFT alone; held-out accuracy after each",
                "stage with 95%% intervals, and the held-out NLL of each trained model next to the model it started",
                "from (forgetting). Writes report.html and",
                "prints its path on the last line. Rerun with the same --run-dir to skip what is complete.",
                "Extra key=value arguments override the SFT stage (keys of conf/sft.yaml), e.g. train.rounds=50;",
                "--set stage.key=value any stage's, --only a subset of stages."})
public final class DemoCommand implements Callable<Integer> {

    /** Where the demo pipeline is in the jar. */
    static final String RESOURCE = "/io/whetstone/jobs/pipelines/demo.yaml";

    @Option(names = "--run-dir", description = "run directory (default: runs/demo-<timestamp>); an existing one "
            + "is resumed: complete, unchanged stages are skipped")
    String runDir;

    @picocli.CommandLine.Mixin
    StageSelection stages = new StageSelection();

    @Parameters(paramLabel = "key=value", description = "overrides of the SFT stage, e.g. train.rounds=50")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        String dir = runDir != null ? runDir
                : "runs/demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        // the pipeline file beside the run, so the run directory says what ran
        Path file = Files.createDirectories(Path.of(dir)).resolve("demo-pipeline.yaml");
        try (InputStream in = DemoCommand.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the jar lacks " + RESOURCE);
            }
            Files.write(file, in.readAllBytes());
        }
        List<String> sft = new ArrayList<>();
        overrides.forEach(override -> sft.add("sft." + override));
        return PipelineCommand.run("demo", file, dir, stages, sft, true);
    }
}
