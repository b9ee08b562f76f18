package io.whetstone.jobs.cli;

import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.jobs.io.HadoopFiles;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code whetstone task-data}: the built-in arithmetic task's problems as GSM8K-format JSONL files. */
@Command(name = "task-data", mixinStandardHelpOptions = true,
        description = {"Writes the built-in arithmetic task's problems as GSM8K-format JSONL: train.jsonl and heldout.jsonl.",
                "2-3 digit addition and subtraction with written-out carries; the held-out problems never appear in",
                "training. The same seed gives the same files. Prints the output directory."})
public final class TaskDataCommand implements Callable<Integer> {

    @Option(names = "--output", required = true, description = "directory to write (any Hadoop path)")
    String output;

    @Option(names = "--train", defaultValue = "20000", description = "training problems (default: ${DEFAULT-VALUE})")
    int train;

    @Option(names = "--heldout", defaultValue = "1000", description = "held-out problems (default: ${DEFAULT-VALUE})")
    int heldout;

    @Option(names = "--prompt-completion", paramLabel = "dir",
            description = "also write the training problems as prompt_completion records (the chat template's "
                    + "question prompt, the worked solution) to <dir>/corpus.jsonl, e.g. to mix with a distilled corpus")
    String promptCompletion;

    @Option(names = "--seed", defaultValue = "7", description = "seed of the generator (default: ${DEFAULT-VALUE}, the demo's)")
    long seed;

    @Override
    public Integer call() {
        if (train < 1 || heldout < 1) {
            throw new IllegalArgumentException("--train and --heldout must be at least 1");
        }
        HadoopFiles files = new HadoopFiles(new org.apache.hadoop.conf.Configuration());
        ArithmeticTask task = new ArithmeticTask(2, 3, true, seed);
        java.util.List<io.whetstone.datasets.tasks.TaskExample> problems = task.generate(ArithmeticTask.Split.TRAIN, train);
        writeJsonl(files, new Path(output, "train.jsonl").toString(), problems);
        if (promptCompletion != null) {
            io.whetstone.datasets.records.ChatTemplateSpec template = new io.whetstone.datasets.records.ChatTemplateSpec();
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < problems.size(); i++) {
                text.append(json.createObjectNode().put("id", "train-" + i)
                        .put("prompt", template.questionPrompt(problems.get(i).question()))
                        .put("completion", problems.get(i).solution())).append('\n');
            }
            files.writeBytes(new Path(promptCompletion, "corpus.jsonl"),
                    text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        writeJsonl(files, new Path(output, "heldout.jsonl").toString(),
                task.generate(ArithmeticTask.Split.TEST, heldout));
        files.writeBytes(new Path(output, "_SUCCESS"), new byte[0]);
        System.out.println(files.qualify(output));
        return 0;
    }

    /** The problems as GSM8K-format {question, answer} records. */
    private static void writeJsonl(HadoopFiles files, String path, java.util.List<io.whetstone.datasets.tasks.TaskExample> examples) {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        StringBuilder text = new StringBuilder();
        for (io.whetstone.datasets.tasks.TaskExample example : examples) {
            text.append(json.createObjectNode().put("question", example.question()).put("answer", example.solution()))
                    .append('\n');
        }
        files.writeBytes(new org.apache.hadoop.fs.Path(path), text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
