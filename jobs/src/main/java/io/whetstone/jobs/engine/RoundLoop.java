package io.whetstone.jobs.engine;

import io.whetstone.jobs.config.InjectedFailure;
import io.whetstone.jobs.io.MetricsLog;
import io.whetstone.jobs.io.ProcessMemory;
import io.whetstone.models.train.TrainingState;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rounds of a training job, whatever its objective: run each round, log progress (step, loss, learning
 * rate, tokens/s, round time, averaging share, ETA), append one metrics line, checkpoint on the configured
 * cadence and after the last round, and stop where a test injects a failure. SFT, distillation and the
 * preference jobs share it; what differs (the objective's own numbers) comes in through {@code extras}. The RL
 * jobs' iteration loop uses its {@link Settings} for the same cadence, ETA and injected failure.
 */
public final class RoundLoop {

    private static final Logger LOG = LoggerFactory.getLogger(RoundLoop.class);

    /**
     * @param label the job's name in log lines
     * @param rounds the last round
     * @param checkpointEvery checkpoint cadence in rounds
     * @param failAfterRound stop as a killed job would after this round (0: never)
     */
    public record Settings(String label, int rounds, int checkpointEvery, int failAfterRound) {

        /** Whether round {@code round} writes a checkpoint: every {@code checkpointEvery} rounds and the last. */
        public boolean checkpointDue(int round) {
            return round % checkpointEvery == 0 || round == rounds;
        }

        /** Stops as a killed job would after round {@code failAfterRound} (tests of resume). */
        public void failIfInjected(int round) {
            if (failAfterRound > 0 && round == failAfterRound) {
                throw new InjectedFailure("debug.fail_after_round=" + round + ": stopping as a killed job would");
            }
        }

        /** The time left after {@code round}, from the mean wall time of the {@code run} rounds run so far. */
        public double eta(double wallSeconds, int run, int round) {
            return wallSeconds / run * (rounds - round);
        }
    }

    /** Writes the checkpoint of a round and returns its directory. */
    @FunctionalInterface
    public interface Checkpointer {
        String write(int round, TrainingState state, boolean last);
    }

    /** An objective's derived numbers for a round: extra metrics fields, the first also shown in the log line. */
    public record Extras(Map<String, Object> fields, String logSuffix) {
        public static final Extras NONE = new Extras(Map.of(), "");
    }

    /**
     * What the rounds run here did.
     *
     * @param state the state after the last round
     * @param lastCheckpoint the newest checkpoint (the resumed one if no round ran), or null
     * @param roundsRun rounds run in this invocation
     * @param firstLoss loss of the first round run here
     * @param lastLoss loss of the last round
     * @param meanAveragingSeconds mean per-round time outside the partitions' compute
     * @param meanRoundSeconds mean round wall time
     * @param bytesPerRound bytes broadcast plus returned per round
     * @param tokens tokens the loss counted over the rounds run here
     * @param last the last round's report, or null
     */
    public record Outcome(TrainingState state, String lastCheckpoint, int roundsRun, double firstLoss, double lastLoss,
                          double meanAveragingSeconds, double meanRoundSeconds, long bytesPerRound, double tokens,
                          RoundReport last) {
    }

    private RoundLoop() {
    }

    /** Rounds {@code startRound + 1 .. settings.rounds()} from {@code state}. */
    public static <R> Outcome run(DistributedTrainer<R> trainer, TrainingState state, int startRound,
                                  String resumedCheckpoint, Settings settings, MetricsLog metrics,
                                  Checkpointer checkpointer, Function<RoundReport, Extras> extras) {
        String lastCheckpoint = resumedCheckpoint;
        double firstLoss = Double.NaN;
        double lastLoss = Double.NaN;
        double averaging = 0;
        double wall = 0;
        long bytes = 0;
        double tokens = 0;
        int run = 0;
        RoundReport report = null;
        for (int round = startRound + 1; round <= settings.rounds(); round++) {
            report = trainer.round(state, round);
            state = report.state();
            run++;
            if (run == 1) {
                firstLoss = report.loss();
            }
            lastLoss = report.loss();
            averaging += report.averagingSeconds();
            wall += report.wallSeconds();
            tokens += report.trainedTokens();
            bytes = report.bytesBroadcast() + report.bytesReturned();
            double eta = settings.eta(wall, run, round);
            Extras extra = extras.apply(report);
            LOG.info(String.format("%sround %d/%d  step %d  loss %.4f  lr %.2e  %.0f tok/s  round %.2fs "
                            + "(averaging %.2fs, %.1f MB moved)%s  eta %s", settings.label(), round, settings.rounds(),
                    state.step(), report.loss(), report.learningRate(), report.trainedTokens() / report.wallSeconds(),
                    report.wallSeconds(), report.averagingSeconds(), bytes / 1e6, extra.logSuffix(), format(eta)));
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("round", round);
            line.put("step", state.step());
            line.put("loss", report.loss());
            line.put("lr", report.learningRate());
            line.put("tokens", report.trainedTokens());
            line.put("rows", report.rows());
            line.put("tokens_per_s", report.trainedTokens() / report.wallSeconds());
            line.put("round_s", report.wallSeconds());
            line.put("compute_s", report.maxComputeSeconds());
            line.put("averaging_s", report.averagingSeconds());
            line.put("broadcast_s", report.breakdown().broadcastSeconds());
            line.put("broadcast_fetch_s", report.breakdown().fetchSeconds());
            line.put("aggregation_s", report.breakdown().aggregationSeconds());
            line.put("driver_step_s", report.breakdown().driverStepSeconds());
            line.put("bytes_broadcast", report.bytesBroadcast());
            line.put("bytes_returned", report.bytesReturned());
            line.put("bytes_moved", bytes);
            ProcessMemory.addTo(line);
            line.put("eta_s", eta);
            report.metrics().forEach(line::put); // the objective's own sums (e.g. distillation's divergence_sum)
            line.putAll(extra.fields());
            metrics.append(line);
            if (settings.checkpointDue(round)) {
                lastCheckpoint = checkpointer.write(round, state, round == settings.rounds());
                LOG.info("Checkpoint written: {}", lastCheckpoint);
            }
            settings.failIfInjected(round);
        }
        return new Outcome(state, lastCheckpoint, run, firstLoss, lastLoss, run == 0 ? 0 : averaging / run,
                run == 0 ? 0 : wall / run, bytes, tokens, report);
    }

    /** 1h02m or 3m05s. */
    public static String format(double seconds) {
        Duration duration = Duration.ofSeconds((long) seconds);
        return duration.toHours() > 0 ? String.format("%dh%02dm", duration.toHours(), duration.toMinutesPart())
                : String.format("%dm%02ds", duration.toMinutes(), duration.toSecondsPart());
    }
}
