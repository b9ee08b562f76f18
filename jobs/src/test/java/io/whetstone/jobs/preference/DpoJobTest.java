package io.whetstone.jobs.preference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.spark.DataValidationException;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.config.InjectedFailure;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Preference optimisation on Spark from a small SFT model, on pairs of an answer in the task's format and one
 * outside it, for the same arithmetic problem: DPO starts at log 2 (policy = reference), ends preferring the right answers (checked by
 * scoring the trained model directly), reads the reference's log-probs from the cache on a rerun with the same
 * result, resumes bit-identically after a kill; SimPO and KTO run without / with their own data; bad data and
 * bad settings stop the job before any training.
 */
class DpoJobTest {

    @TempDir
    static Path shared;
    private static Path pairs;
    private static Path unpaired;
    private static SftResult policy;

    @BeforeAll
    static void trainTheStartingModelAndWriteThePairs() throws IOException {
        Path sftData = TestData.write(shared, "sft.jsonl", TestData.promptCompletionLines(80, 4));
        policy = new SftJob(SparkTestSession.get(), SftConfig.load(null, TestData.tinySft(sftData,
                shared.resolve("sft")))).run();
        ObjectMapper json = new ObjectMapper();
        List<String> pairLines = new ArrayList<>();
        List<String> unpairedLines = new ArrayList<>();
        for (TaskExample example : new ArithmeticTask(1, 2, false, 9).generate(ArithmeticTask.Split.TRAIN, 40)) {
            // the rejected answer breaks the format the verifier reads (a preference a model this small can learn)
            String wrong = "= " + example.answer() + " (maybe)";
            ObjectNode pair = json.createObjectNode();
            pair.put("prompt", example.question() + " ");
            pair.put("chosen", "#### " + example.answer());
            pair.put("rejected", wrong);
            pairLines.add(pair.toString());
            for (boolean right : new boolean[] {true, false}) {
                ObjectNode single = json.createObjectNode();
                single.put("prompt", example.question() + " ");
                single.put("completion", right ? "#### " + example.answer() : wrong);
                single.put("label", right);
                unpairedLines.add(single.toString());
            }
        }
        pairs = TestData.write(shared, "pairs.jsonl", pairLines);
        unpaired = TestData.write(shared, "unpaired.jsonl", unpairedLines);
    }

    private static List<String> settings(Path data, Path runDir, String... extra) {
        List<String> overrides = new ArrayList<>(List.of("run.dir=" + runDir.toUri(), "data.path=" + data.toUri(),
                "data.seq_len=48", "model.init=" + policy.checkpoint(), "train.rounds=12", "train.mode=gradient",
                "train.averaging_frequency=1", "train.batch_size_per_worker=8", "train.lr=0.01", "train.warmup_steps=0",
                "preference.beta=0.5", "spark.partitions=2", "spark.threads_per_task=1", "checkpoint.every_rounds=4",
                "data.cache_dir=" + shared.resolve("_cache").toUri()));
        overrides.addAll(List.of(extra));
        return overrides;
    }

    private static DpoResult run(Path data, Path runDir, String... extra) {
        return new DpoJob(SparkTestSession.get(), DpoConfig.load(null, settings(data, runDir, extra))).run();
    }

    @Test
    void dpoStartsAtLogTwoAndEndsPreferringTheRightAnswers() throws IOException {
        DpoResult result = run(pairs, shared.resolve("dpo"));
        // the first step's gradient is taken at the reference itself: every implicit reward is 0
        assertEquals(Math.log(2), result.firstLoss(), 1e-4);
        assertTrue(result.lastLoss() < 0.6 * Math.log(2), "loss " + result.firstLoss() + " -> " + result.lastLoss());
        assertTrue((double) result.lastRound().get("preference_accuracy") >= 0.9, result.lastRound().toString());
        assertTrue((double) result.lastRound().get("reward_margin") > 0, result.lastRound().toString());
        assertEquals(40, result.corpus().units());

        // scored directly, outside the job: the trained policy's implicit reward margin over the starting model,
        // beta * ((chosen_after - chosen_before) - (rejected_after - rejected_before)), is positive on every pair
        List<PreferenceRow> units = unitsOf(result);
        List<PreferenceRow> before = scored(policy.modelParams(), result, units);
        List<PreferenceRow> after = scored(result.params(), result, units);
        int widened = 0;
        double margin = 0;
        for (int i = 0; i < units.size(); i++) {
            double pairMargin = 0.5 * ((after.get(i).refChosen() - before.get(i).refChosen())
                    - (after.get(i).refRejected() - before.get(i).refRejected()));
            widened += pairMargin > 0 ? 1 : 0;
            margin += pairMargin / units.size();
        }
        assertEquals(40, widened, "pairs whose implicit reward margin grew");
        assertTrue(margin > 1.0, "mean implicit reward margin of the trained policy: " + margin);

        JsonNode last = lastMetricsLine(result.runDir());
        assertTrue(last.has("preference_accuracy") && last.has("chosen_logp_drift") && last.has("pairs"),
                last.toString());

        // eval-preferences scores the same pairs from the command line: every implicit reward margin grew
        java.io.PrintStream out = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        int code;
        try {
            code = io.whetstone.jobs.cli.Whetstone.execute("eval-preferences", "--data", pairs.toUri().toString(),
                    "--seq-len", "48", "--reference", policy.checkpoint(), "--beta", "0.5", "--work-dir",
                    shared.resolve("eval-preferences").toUri().toString(), result.checkpoint());
        } finally {
            System.setOut(out);
        }
        String text = printed.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("40 pairs (0 rejected"), text);
        assertTrue(text.contains("implicit-reward accuracy 1.000"), text);
    }

    @Test
    void aRerunReadsTheReferenceCacheAndTrainsTheSameBits() {
        DpoResult first = run(pairs, shared.resolve("cache-1"));
        DpoResult second = run(pairs, shared.resolve("cache-2"));
        assertTrue(second.referenceFromCache(), "the second run reads the reference's log-probs from the cache");
        assertArrayEquals(first.params(), second.params(), 0f);
    }

    @Test
    void aKilledRunResumesToTheSameWeights() {
        DpoResult whole = run(pairs, shared.resolve("whole"), "train.mode=averaging", "train.averaging_frequency=2");
        Path killed = shared.resolve("killed");
        assertThrows(InjectedFailure.class, () -> run(pairs, killed, "train.mode=averaging",
                "train.averaging_frequency=2", "debug.fail_after_round=6"));
        DpoResult resumed = run(pairs, killed, "train.mode=averaging", "train.averaging_frequency=2");
        assertEquals(8, resumed.roundsRun(), "resumed from the round-4 checkpoint");
        assertArrayEquals(whole.params(), resumed.params(), 0f);
    }

    @Test
    void simpoNeedsNoReferenceAndKtoTrainsOnLabels() {
        DpoResult simpo = run(pairs, shared.resolve("simpo"), "preference.loss=simpo", "preference.beta=2.0",
                "preference.simpo_gamma=0.5");
        assertFalse(simpo.referenceFromCache());
        assertTrue(simpo.lastLoss() < simpo.firstLoss(), simpo.firstLoss() + " -> " + simpo.lastLoss());
        assertTrue((double) simpo.lastRound().get("preference_accuracy") >= 0.9, simpo.lastRound().toString());
        DpoResult kto = run(unpaired, shared.resolve("kto"), "preference.loss=kto", "data.format=unpaired");
        assertEquals(80, kto.corpus().units());
        assertEquals(40, kto.corpus().desirable());
        assertTrue(kto.lastLoss() < kto.firstLoss(), kto.firstLoss() + " -> " + kto.lastLoss());
        double desirable = (double) kto.lastRound().get("reward_desirable");
        double undesirable = (double) kto.lastRound().get("reward_undesirable");
        assertTrue(desirable > undesirable, kto.lastRound().toString());
    }

    @Test
    void badDataAndSettingsStopBeforeTraining(@TempDir Path dir) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(pairs));
        lines.set(6, "{\"prompt\": \"1+1=\", \"chosen\": \"#### 2\", \"rejected\": \"#### 2\"}");
        Path bad = TestData.write(dir, "bad.jsonl", lines);
        DataValidationException error = assertThrows(DataValidationException.class, () -> run(bad,
                dir.resolve("run")));
        assertTrue(error.getMessage().contains("bad.jsonl:7: rejected: is identical to chosen"), error.getMessage());
        assertFalse(Files.exists(dir.resolve("run").resolve("metrics.jsonl")), "no round ran");
        ConfigException format = assertThrows(ConfigException.class, () -> DpoConfig.load(null,
                settings(unpaired, dir.resolve("x"), "preference.loss=kto")));
        assertTrue(format.getMessage().contains("data.format=unpaired"), format.getMessage());
        ConfigException scratch = assertThrows(ConfigException.class, () -> DpoConfig.load(null,
                List.of("data.path=x.jsonl")));
        assertTrue(scratch.getMessage().contains("model.init"), scratch.getMessage());
        ConfigException beta = assertThrows(ConfigException.class, () -> DpoConfig.load(null,
                settings(pairs, dir.resolve("x"), "preference.beta=0")));
        assertTrue(beta.getMessage().contains("preference.beta"), beta.getMessage());
    }

    private static List<PreferenceRow> unitsOf(DpoResult result) {
        return new io.whetstone.datasets.spark.PreferencePreparer(SparkTestSession.get()).prepare(
                new io.whetstone.datasets.spark.PreferenceSpec(pairs.toUri().toString(),
                        io.whetstone.datasets.records.PreferenceFormat.PAIRED, "auto",
                        io.whetstone.datasets.spark.CorpusSpec.Validation.STRICT, 48,
                        io.whetstone.datasets.spark.CorpusSpec.Truncation.ERROR, shared.resolve("_cache").toUri()
                        .toString()), result.tokenizer(), 2, shared.resolve("rejects").toString()).rows().collect();
    }

    /** The units with their summed log-probs under {@code params} in the reference fields. */
    private static List<PreferenceRow> scored(float[] params, DpoResult result, List<PreferenceRow> units) {
        try (Transformer model = new Transformer(result.config(), new EngineOptions(DataType.FLOAT,
                KernelChoice.REFERENCE, 1))) {
            TrainingState.copyInto(params, model.parameters().params());
            return ReferenceLogProbCache.score(model, units);
        }
    }

    private static JsonNode lastMetricsLine(String runDir) throws IOException {
        List<String> lines = Files.readAllLines(Path.of(java.net.URI.create(runDir)).resolve("metrics.jsonl"));
        ObjectMapper json = new ObjectMapper();
        JsonNode last = null;
        for (String line : lines) {
            JsonNode node = json.readTree(line);
            if (node.has("round")) {
                last = node;
            }
        }
        return last;
    }
}
