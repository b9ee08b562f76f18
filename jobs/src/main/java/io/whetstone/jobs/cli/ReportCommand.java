package io.whetstone.jobs.cli;

import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.report.RunReport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code whetstone report}: the self-contained HTML report of run directories. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Writes report.html into each run directory given: a pipeline's, the demo's or one job's.",
                "Charts of every metric per round or iteration, held-out results with 95%% intervals, guard events,",
                "sample completions with their verdicts and the resolved configs, as one file that needs no network.",
                "Prints each report's path."})
public final class ReportCommand implements Callable<Integer> {

    @Parameters(paramLabel = "dir", arity = "1..*", description = "run directories")
    List<String> dirs = new ArrayList<>();

    @Override
    public Integer call() {
        HadoopFiles files = new HadoopFiles(new org.apache.hadoop.conf.Configuration());
        for (String dir : dirs) {
            if (!files.exists(new org.apache.hadoop.fs.Path(dir))) {
                throw new IllegalArgumentException("no such run directory: " + dir);
            }
            System.out.println(RunReport.write(files, dir));
        }
        return 0;
    }
}
