package io.whetstone.jobs.spark;

import io.whetstone.jobs.engine.RoundLoop;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress of every long Spark job on the console: each job that has run for a while is reported every
 * {@code every} seconds with its description (the jobs set one: "tokenize ...", "iteration 3 rollouts", "teacher
 * top-k", "reference log-probs", "evaluation"), its finished and started tasks, the time so far and an ETA from the
 * tasks' pace. Before, a stage could be silent for half a minute. Spark's console progress bar is off in local mode
 * without a terminal and says nothing of what a stage is for.
 */
public final class JobProgress extends SparkListener {

    private static final Logger LOG = LoggerFactory.getLogger(JobProgress.class);
    private static final Map<SparkContext, JobProgress> REGISTERED = new ConcurrentHashMap<>();

    /** A running job: what it is, when it started, its tasks started and finished. */
    private static final class Running {
        final String description;
        final long startNanos = System.nanoTime();
        final AtomicInteger started = new AtomicInteger();
        final AtomicInteger finished = new AtomicInteger();

        Running(String description) {
            this.description = description;
        }
    }

    private final Map<Integer, Running> jobs = new ConcurrentHashMap<>();
    private final Map<Integer, Integer> jobOfStage = new ConcurrentHashMap<>();
    private final double quietSeconds;

    private JobProgress(double quietSeconds) {
        this.quietSeconds = quietSeconds;
    }

    /** Registers the reporter on {@code context} once, reporting every {@code everySeconds}. */
    public static void register(SparkContext context, int everySeconds) {
        REGISTERED.computeIfAbsent(context, c -> {
            JobProgress progress = new JobProgress(everySeconds);
            c.addSparkListener(progress);
            ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
                Thread thread = new Thread(runnable, "whetstone-progress");
                thread.setDaemon(true);
                return thread;
            });
            timer.scheduleAtFixedRate(progress::report, everySeconds, everySeconds, TimeUnit.SECONDS);
            return progress;
        });
    }

    @Override
    public void onJobStart(SparkListenerJobStart start) {
        String description = start.properties() == null ? null
                : start.properties().getProperty("spark.job.description");
        jobs.put(start.jobId(), new Running(description != null ? description : "Spark job " + start.jobId()));
        scala.collection.Iterator<Object> stages = start.stageIds().iterator();
        while (stages.hasNext()) {
            jobOfStage.put((Integer) stages.next(), start.jobId());
        }
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted submitted) {
        Running job = job(submitted.stageInfo().stageId());
        if (job != null) {
            job.started.addAndGet(submitted.stageInfo().numTasks());
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        Running job = job(end.stageId());
        if (job != null && end.taskInfo().successful()) {
            job.finished.incrementAndGet();
        }
    }

    @Override
    public void onJobEnd(SparkListenerJobEnd end) {
        jobs.remove(end.jobId());
        jobOfStage.values().removeIf(id -> id == end.jobId());
    }

    private Running job(int stageId) {
        Integer jobId = jobOfStage.get(stageId);
        return jobId == null ? null : jobs.get(jobId);
    }

    private void report() {
        for (Running job : jobs.values()) {
            double elapsed = (System.nanoTime() - job.startNanos) / 1e9;
            if (elapsed >= quietSeconds) {
                LOG.info(line(job.description, job.finished.get(), job.started.get(), elapsed));
            }
        }
    }

    /** "what: 3/8 tasks, 0m41s, eta 1m10s"; the ETA needs a finished task (before that: "eta ?"). */
    static String line(String description, int finished, int started, double elapsedSeconds) {
        String eta = finished == 0 || started == 0 ? "?"
                : RoundLoop.format(elapsedSeconds / finished * Math.max(0, started - finished));
        return String.format("%s: %d/%d tasks, %s, eta %s", description, finished, started,
                RoundLoop.format(elapsedSeconds), eta);
    }
}
