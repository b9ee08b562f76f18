package io.whetstone.jobs.prm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.PrmConfig;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The process reward model end to end on step data with a known rule (a step is right when it and every step
 * before it are marked right):
 * trained from a small SFT model on soft labels, exported as token classification, read back, and evaluated
 * against the true labels, with first-error detection.
 */
class PrmJobTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Solutions of "a+b" steps; a step is right when it is marked right and every step before it is. */
    private static List<String> solutions(int count, long seed) {
        Random random = new Random(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ObjectNode line = JSON.createObjectNode();
            line.put("prompt", "Add: ");
            ArrayNode steps = line.putArray("steps");
            ArrayNode soft = line.putArray("soft_labels");
            ArrayNode truth = line.putArray("true_labels");
            boolean onTrack = true;
            for (int k = 0; k < 3; k++) {
                int a = random.nextInt(5);
                int b = random.nextInt(5);
                boolean right = random.nextDouble() < 0.7;
                // the rule is visible in the step (a wrong sum ends in '?') so a one-layer model can learn it; that
                // a step after a mistake is wrong too needs attention to the earlier steps
                steps.add(a + "+" + b + "=" + (right ? a + b + "." : (a + b + 1) + "?") + " ");
                onTrack = onTrack && right;
                soft.add(onTrack ? 0.75 : 0.0);
                truth.add(onTrack);
            }
            line.put("correct", onTrack);
            lines.add(line.toString());
        }
        return lines;
    }

    /** The small causal LM the process reward models start from. */
    private static SftResult sftModel(Path dir) throws Exception {
        Path sftData = TestData.write(dir, "sft.jsonl", TestData.promptCompletionLines(60, 4));
        return new SftJob(SparkTestSession.get(), SftConfig.load(null, TestData.tinySft(sftData, dir.resolve("sft"))))
                .run();
    }

    @Test
    void badStepRecordsAreRefusedWithFileLineAndField(@TempDir Path dir) throws Exception {
        List<String> lines = new ArrayList<>(solutions(3, 5));
        lines.add("{\"prompt\": \"Add: \", \"steps\": [\"1+1=2. \"]}");
        lines.add("{\"prompt\": \"Add: \", \"steps\": [\"1+1=2. \"], \"soft_labels\": [1.5]}");
        lines.add("{\"prompt\": \"Add: \", \"steps\": [\"1+1=2. \"], \"soft_labels\": [1.0]} trailing");
        Path file = TestData.write(dir, "bad.jsonl", lines);
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        IllegalArgumentException error = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> StepRowReader.read(context, file.toUri().toString(), new io.whetstone.datasets.tokenize
                        .ByteTokenizer(), "soft_labels", 64, 2));
        assertTrue(error.getMessage().startsWith("3 invalid step records"), error.getMessage());
        assertTrue(error.getMessage().contains("bad.jsonl:4: a step record needs") && error.getMessage()
                .contains("soft_labels"), error.getMessage());
        assertTrue(error.getMessage().contains("bad.jsonl:5: step 0 has label 1.5, outside [0, 1]"),
                error.getMessage());
        assertTrue(error.getMessage().contains("bad.jsonl:6: not a JSON object (or text after it)"),
                error.getMessage());
    }

    @Test
    void solutionsWithALabelledStepAreDealtEvenlyWhereverTheyAreInTheFile(@TempDir Path dir) throws Exception {
        // the first 12 lines are long prompts whose steps all fall past the row's 64 ids (dropped); the 4 usable
        // solutions sit together in the file's last byte split
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            lines.add("{\"prompt\": \"" + "x".repeat(300) + "\", \"steps\": [\"1+1=2. \"], \"soft_labels\": [1.0]}");
        }
        lines.addAll(solutions(4, 3));
        Path file = TestData.write(dir, "skewed.jsonl", lines);
        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        List<List<StepRow>> partitions = StepRowReader.read(context, file.toUri().toString(),
                new io.whetstone.datasets.tokenize.ByteTokenizer(), "soft_labels", 64, 4).glom().collect();
        assertEquals(4, partitions.size());
        assertEquals(List.of(1, 1, 1, 1), partitions.stream().map(List::size).toList(), "one solution each");
    }

    @Test
    void aProcessRewardModelLearnsWhichStepsAreRight(@TempDir Path dir) throws Exception {
        SftResult base = sftModel(dir);
        Path train = TestData.write(dir, "train.jsonl", solutions(160, 1));
        Path heldout = TestData.write(dir, "heldout.jsonl", solutions(60, 2));
        PrmJob.Result result = new PrmJob(SparkTestSession.get(), PrmConfig.load(null, List.of("run.dir="
                + dir.resolve("prm").toUri(), "data.path=" + train.toUri(), "data.seq_len=48", "model.init="
                + base.checkpoint(), "train.rounds=60", "train.lr=0.01", "train.warmup_steps=0",
                "train.batch_size_per_worker=16", "spark.partitions=2", "spark.threads_per_task=1",
                "checkpoint.every_rounds=30"))).run();
        assertTrue(result.lastLoss() < result.firstLoss(), result.firstLoss() + " -> " + result.lastLoss());
        Path export = Path.of(URI.create(result.model()));
        JsonNode config = JSON.readTree(export.resolve("config.json").toFile());
        assertEquals("GPT2ForTokenClassification", config.get("architectures").get(0).asText());
        assertTrue(Files.exists(export.resolve("_SUCCESS")));

        JavaSparkContext context = JavaSparkContext.fromSparkContext(SparkTestSession.get().sparkContext());
        ProcessRewardModel model = ProcessRewardModel.load(context, new HadoopFiles(context.hadoopConfiguration()),
                result.model(), new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1));
        try {
            Map<String, Double> evaluation = PrmEvaluation.evaluate(context, heldout.toUri().toString(), model, 2);
            System.out.println("prm on the toy rule: " + result.lastRound() + ", held-out " + evaluation);
            assertEquals(180.0, evaluation.get("steps"));
            assertTrue(evaluation.get("step_accuracy") >= 0.95, evaluation.toString());
            assertTrue(evaluation.get("first_error_detection") >= 0.9, evaluation.toString());
        } finally {
            model.destroy();
        }

        // the tts job picks by it: best-of-N by the process reward model beside the oracle
        List<String> questions = new ArrayList<>();
        for (var example : new io.whetstone.datasets.tasks.ArithmeticTask(1, 2, false, 21).generate(
                io.whetstone.datasets.tasks.ArithmeticTask.Split.TEST, 6)) {
            questions.add(JSON.createObjectNode().put("prompt", example.question() + " ")
                    .put("reference", "#### " + example.answer()).toString());
        }
        io.whetstone.jobs.tts.TtsJob.Result tts = new io.whetstone.jobs.tts.TtsJob(SparkTestSession.get(),
                io.whetstone.jobs.config.TtsConfig.load(null, List.of("policy.path=" + base.checkpoint(), "data.path="
                        + TestData.write(dir, "questions.jsonl", questions).toUri(), "run.dir=" + dir.resolve("tts")
                        .toUri(), "answer.format=task", "sampling.samples_per_prompt=4", "sampling.max_new_tokens=10",
                        "process_reward.path=" + result.model(), "process_reward.delimiter=' '",
                        "strategies=[best_of_n_prm, best_of_n_verifier, beam_search]", "budget.values=[1, 4]",
                        "beam.width=2", "beam.expansions=2", "beam.max_steps=4", "beam.lookahead=1",
                        "spark.threads_per_task=1"))).run();
        for (int budget : List.of(1, 4)) {
            assertTrue(tts.of("best_of_n_prm", budget).orElseThrow().accuracy()
                    <= tts.of("best_of_n_verifier", budget).orElseThrow().accuracy());
        }
        assertEquals(6, tts.of("best_of_n_prm", 4).orElseThrow().questions());
        // beam search (2 beams x 2 draws, one lookahead step) spends at least one token per draw it makes
        io.whetstone.jobs.tts.TtsJob.Summary beam = tts.of("beam_search", 4).orElseThrow();
        assertEquals(6, beam.questions());
        assertTrue(beam.tokensPerQuestion() >= 2, beam.toString());
    }

    /**
     * With LoRA only the adapters train (the run counts their parameters), the export is the merged model, and a run
     * killed after its third round resumes from the adapters' checkpoint on the reloaded base to the same export,
     * byte for byte, as an uninterrupted one.
     */
    @Test
    void aLoraProcessRewardModelTrainsAdaptersAndResumesToTheSameExport(@TempDir Path dir) throws Exception {
        SftResult base = sftModel(dir);
        Path train = TestData.write(dir, "train.jsonl", solutions(64, 3));
        java.util.function.Function<String, List<String>> settings = run -> new ArrayList<>(List.of("run.dir="
                + dir.resolve(run).toUri(), "data.path=" + train.toUri(), "data.seq_len=48", "model.init="
                + base.checkpoint(), "lora.enabled=true", "lora.rank=4", "train.rounds=6", "train.lr=0.02",
                "train.warmup_steps=0", "train.batch_size_per_worker=8", "spark.partitions=2",
                "spark.threads_per_task=1", "checkpoint.every_rounds=3"));
        PrmJob.Result whole = new PrmJob(SparkTestSession.get(), PrmConfig.load(null, settings.apply("whole"))).run();
        assertTrue(whole.lastLoss() < whole.firstLoss(), whole.firstLoss() + " -> " + whole.lastLoss());
        JsonNode start = JSON.readTree(Files.readAllLines(Path.of(URI.create(whole.runDir())).resolve("metrics.jsonl"))
                .get(0));
        long trainable = start.get("params").asLong();
        long full = Files.size(Path.of(URI.create(whole.model())).resolve("model.safetensors")) / 4;
        assertTrue(trainable > 0 && trainable < full / 10, "only the adapters train: " + trainable + " of ~" + full);

        List<String> killed = settings.apply("killed");
        killed.add("debug.fail_after_round=3");
        org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> new PrmJob(SparkTestSession.get(), PrmConfig.load(null, killed)).run());
        PrmJob.Result resumed = new PrmJob(SparkTestSession.get(), PrmConfig.load(null, settings.apply("killed")))
                .run();
        assertEquals(3, resumed.roundsRun());
        assertTrue(java.util.Arrays.equals(
                Files.readAllBytes(Path.of(URI.create(whole.model())).resolve("model.safetensors")),
                Files.readAllBytes(Path.of(URI.create(resumed.model())).resolve("model.safetensors"))),
                "the resumed LoRA run exports the uninterrupted run's model");
        byte[] sftWeights = Files.readAllBytes(Path.of(URI.create(base.checkpoint())).resolve("model.safetensors"));
        assertTrue(!java.util.Arrays.equals(sftWeights,
                Files.readAllBytes(Path.of(URI.create(whole.model())).resolve("model.safetensors"))));
    }
}
