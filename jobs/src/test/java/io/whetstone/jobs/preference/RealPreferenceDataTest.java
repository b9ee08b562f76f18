package io.whetstone.jobs.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.records.PreferenceFormat;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.datasets.spark.PreferencePreparer;
import io.whetstone.datasets.spark.PreferenceSpec;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Pipeline checks on real preference data nobody here wrote, with the real stories260K model (a TinyStories
 * model, so both sets are far outside what it knows): pairs of a correct and an incorrect real model solution
 * to the same GSM8K question, and Anthropic's HH-RLHF harmless-base dialogues (the prompt taken from the
 * shared dialogue), each split by prompt into training and held-out pairs, validated strictly, trained on
 * briefly with DPO, and scored on the held-out pairs before and after. The numbers are printed for the README;
 * the assertions are the pipeline's (every pair read, none split, training moves the training pairs), not a
 * quality target.
 */
class RealPreferenceDataTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] MODELS = {"6b_finetuning", "6b_verification", "175b_finetuning",
        "175b_verification"};

    private static Path assets() {
        return Path.of(System.getProperty("whetstone.assets", "../shared/assets"));
    }

    @Test
    void gsm8kSolutionPairsTrainAndScore(@TempDir Path dir) throws IOException {
        List<String> train = new ArrayList<>();
        List<String> heldout = new ArrayList<>();
        List<String> lines = Files.readAllLines(assets().resolve("gsm8k_model_solutions.jsonl"));
        int questions = 0;
        for (String line : lines) {
            JsonNode record = JSON.readTree(line);
            String correct = null;
            String incorrect = null;
            for (String model : MODELS) {
                JsonNode solution = record.get(model);
                if (solution.get("is_correct").asBoolean() && correct == null) {
                    correct = solution.get("solution").asText();
                } else if (!solution.get("is_correct").asBoolean() && incorrect == null) {
                    incorrect = solution.get("solution").asText();
                }
            }
            if (correct == null || incorrect == null || correct.equals(incorrect)) {
                continue;
            }
            String pair = JSON.createObjectNode().put("prompt", "Question: " + record.get("question").asText()
                    + "\nAnswer: ").put("chosen", correct).put("rejected", incorrect).toString();
            // split by question: every fifth question is held out
            (questions++ % 5 == 4 ? heldout : train).add(pair);
        }
        Result result = check(dir, TestData.write(dir, "train.jsonl", train), TestData.write(dir, "heldout.jsonl",
                heldout), PreferenceFormat.PAIRED, 256);
        // every pair is read; a few whose question alone fills the row are rejected with the reason (lenient)
        assertEquals(train.size(), result.trainUnits() + result.trainRejected());
        assertTrue(result.trainRejected() < train.size() / 10, "rejected " + result.trainRejected());
        assertTrue(result.heldoutUnits() > heldout.size() * 9 / 10, "held out " + result.heldoutUnits());
        report("GSM8K solution pairs", result);
    }

    @Test
    void hhRlhfDialoguesTrainAndScore(@TempDir Path dir) throws IOException {
        List<String> train = new ArrayList<>();
        List<String> heldout = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(new GZIPInputStream(
                Files.newInputStream(assets().resolve("hh_rlhf_harmless_base_test.jsonl.gz"))),
                StandardCharsets.UTF_8))) {
            String line;
            int index = 0;
            while ((line = reader.readLine()) != null) {
                // split by prompt: the dialogue before the last reply decides the side
                JsonNode record = JSON.readTree(line);
                String chosen = record.get("chosen").asText();
                String prompt = chosen.substring(0, io.whetstone.datasets.records.PreferenceParser.sharedPrompt(
                        chosen, record.get("rejected").asText()));
                (Math.floorMod(prompt.hashCode(), 5) == 4 ? heldout : train).add(line);
                index++;
            }
            assertEquals(2312, index);
        }
        Result result = check(dir, TestData.write(dir, "train.jsonl", train), TestData.write(dir, "heldout.jsonl",
                heldout), PreferenceFormat.IMPLICIT_PROMPT, 384);
        // records whose prompts and replies are identical or whose prompt fills the row are rejected with reasons
        assertEquals(train.size(), result.trainUnits() + result.trainRejected());
        report("HH-RLHF harmless-base dialogues", result);
    }

    private record Result(long trainUnits, long trainRejected, long heldoutUnits, PreferenceEvaluation before,
                          PreferenceEvaluation after, PreferenceEvaluation trainAfter, double seconds) {
    }

    private static Result check(Path dir, Path train, Path heldout, PreferenceFormat format, int seqLen) {
        long start = System.nanoTime();
        SparkSession spark = SparkTestSession.get();
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        String stories = assets().resolve("stories260K.gguf").toUri().toString();
        DpoResult dpo = new DpoJob(spark, DpoConfig.load(null, List.of("model.init=" + stories,
                "data.path=" + train.toUri(), "data.format=" + format.id(), "data.seq_len=" + seqLen,
                "data.truncation=truncate", "data.validation=lenient", "run.dir=" + dir.resolve("dpo").toUri(),
                "preference.beta=0.1", "train.rounds=8", "train.averaging_frequency=4", "train.batch_size_per_worker=8",
                "train.lr=5e-4", "train.warmup_steps=2", "spark.threads_per_task=1", "checkpoint.every_rounds=8")))
                .run();
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        CheckpointStore.ModelAndTokenizer reference = ModelSources.load(files, stories);
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1);
        JavaRDD<PreferenceRow> held = annotated(spark, heldout, format, seqLen, dir, reference, engine);
        JavaRDD<PreferenceRow> trained = annotated(spark, train, format, seqLen, dir, reference, engine);
        CheckpointStore.ModelAndTokenizer policy = new CheckpointStore.ModelAndTokenizer(dpo.config(), dpo.params(),
                dpo.tokenizer());
        PreferenceEvaluation before = PreferenceEvaluation.evaluate(context, held, reference, engine, 0.1);
        PreferenceEvaluation after = PreferenceEvaluation.evaluate(context, held, policy, engine, 0.1);
        PreferenceEvaluation trainAfter = PreferenceEvaluation.evaluate(context, trained, policy, engine, 0.1);
        assertEquals(0, before.meanRewardMargin(), 1e-3);
        assertTrue(trainAfter.meanRewardMargin() > 0, "DPO widened the training pairs' margins: " + trainAfter);
        return new Result(dpo.corpus().units(), dpo.corpus().rejected(), held.count(), before, after, trainAfter,
                (System.nanoTime() - start) / 1e9);
    }

    private static JavaRDD<PreferenceRow> annotated(SparkSession spark, Path data, PreferenceFormat format, int seqLen,
                                                    Path dir, CheckpointStore.ModelAndTokenizer reference,
                                                    EngineOptions engine) {
        PreferencePreparer.Prepared prepared = new PreferencePreparer(spark).prepare(new PreferenceSpec(
                data.toUri().toString(), format, "auto", CorpusSpec.Validation.LENIENT, seqLen,
                CorpusSpec.Truncation.TRUNCATE, dir.resolve("_cache").toUri().toString()), reference.tokenizer(), 2,
                dir.resolve("rejects-" + data.getFileName()).toString());
        return ReferenceLogProbCache.annotate(spark, prepared.rows(), 2, prepared.cachePath(), reference, engine)
                .units();
    }

    private static void report(String name, Result result) {
        System.out.println(String.format("%s: %d training pairs (%d rejected), %d held-out; held-out log-prob "
                        + "ranking accuracy %.3f -> %.3f (per-token mean %.3f -> %.3f), implicit-reward accuracy "
                        + "%.3f, margin %.4f; training pairs: implicit-reward accuracy %.3f, margin %.4f; %.0f s",
                name, result.trainUnits(), result.trainRejected(), result.heldoutUnits(),
                result.before().logProbAccuracy(), result.after().logProbAccuracy(),
                result.before().meanLogProbAccuracy(), result.after().meanLogProbAccuracy(),
                result.after().rewardAccuracy(), result.after().meanRewardMargin(),
                result.trainAfter().rewardAccuracy(), result.trainAfter().meanRewardMargin(), result.seconds()));
    }
}
