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

    @Option(names = "--seed", defaultValue = "7", description = "seed of the generator (default: ${DEFAULT-VALUE}, the demo's)")
    long seed;

    @Override
    public Integer call() {
        if (train < 1 || heldout < 1) {
            throw new IllegalArgumentException("--train and --heldout must be at least 1");
        }
        HadoopFiles files = new HadoopFiles(new org.apache.hadoop.conf.Configuration());
        ArithmeticTask task = new ArithmeticTask(2, 3, true, seed);
        DemoCommand.writeJsonl(files, new Path(output, "train.jsonl").toString(),
                task.generate(ArithmeticTask.Split.TRAIN, train));
        DemoCommand.writeJsonl(files, new Path(output, "heldout.jsonl").toString(),
                task.generate(ArithmeticTask.Split.TEST, heldout));
        files.writeBytes(new Path(output, "_SUCCESS"), new byte[0]);
        System.out.println(files.qualify(output));
        return 0;
    }
}
