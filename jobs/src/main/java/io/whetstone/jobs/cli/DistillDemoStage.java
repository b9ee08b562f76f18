package io.whetstone.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.jobs.config.DistillDataConfig;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.distill.DistillDataJob;
import io.whetstone.jobs.eval.TaskEvaluation;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import io.whetstone.models.engine.EngineOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's distillation stage. The teacher (the demo's last checkpoint) writes a verified chain-of-thought
 * corpus for part of the training prompts. Three students with about a quarter of its parameters then train
 * for the same rounds on the same number of rows (so the same tokens): with SFT on the original corpus alone
 * (the baseline); on the original corpus plus the teacher's verified corpus with logit distillation from the
 * teacher mixed in (forward KL, half the weight: the distilled student); and with SFT alone on that same data
 * (sequence-level distillation only, to show what each kind adds).
 */
final class DistillDemoStage {

    private static final Logger LOG = LoggerFactory.getLogger(DistillDemoStage.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The students' shape, a quarter of the demo model's parameters (0.22M of 0.81M), and their training length,
     * half again the teacher's SFT: at 40 rounds this student is at the start of the task's sharp rise in
     * accuracy, where single runs swung between 6% and 37% with the data and loss; at 60 the three students
     * are far enough apart to compare on 1,000 problems (SFT only 43%, verified corpus 56%, verified corpus and
     * logits 68%, the teacher 70%, in the demo run of the README).
     */
    static final List<String> STUDENT = List.of("model.width=64", "model.layers=4", "model.heads=4", "model.kv_heads=2",
            "model.ffn_hidden=176", "train.rounds=60");

    /** The corpus job's settings: 4,000 training prompts x 2 samples, at most one rationale kept per prompt. */
    static final List<String> CORPUS = List.of("sampling.samples_per_prompt=2", "sampling.max_new_tokens=110",
            "sampling.temperature=1.0", "sampling.decode_batch=64", "sampling.chunk_prompts=2000",
            "filter.verifier={type: task}", "filter.max_per_prompt=1", "spark.partitions=2");

    /** Logit distillation settings of the distilled student. */
    static final List<String> DISTILL = List.of("distill.divergence=forward_kl", "distill.temperature=1.0",
            "distill.ce_weight=0.5");

    static final int CORPUS_PROMPTS = 4000;

    private DistillDemoStage() {
    }

    /**
     * Runs the stage and fills {@code stage}.
     *
     * @param sftPreset the demo's SFT settings (the student keeps all but the shape)
     * @param teacher the teacher checkpoint
     * @param teacherParams its parameter count
     * @param teacherAccuracy its held-out accuracy, measured by the stage before
     * @param overrides user overrides of the students' SFT settings
     */
    static void run(SparkSession spark, HadoopFiles files, String root, List<TaskExample> train,
                    List<TaskExample> heldout, List<String> sftPreset, String teacher, long teacherParams,
                    double teacherAccuracy, EngineOptions engine, int partitions, List<String> overrides,
                    ObjectNode stage) throws java.io.IOException {
        long start = System.nanoTime();
        Path dir = new Path(root, "distill");
        ChatTemplateSpec template = new ChatTemplateSpec();
        StringBuilder promptsText = new StringBuilder();
        StringBuilder original = new StringBuilder();
        for (int i = 0; i < train.size(); i++) {
            TaskExample example = train.get(i);
            if (i < CORPUS_PROMPTS) {
                promptsText.append(JSON.createObjectNode().put("id", "train-" + i).put("question", example.question())
                        .put("answer", example.solution())).append('\n');
            }
            original.append(JSON.createObjectNode().put("id", "train-" + i)
                    .put("prompt", template.questionPrompt(example.question())).put("completion", example.solution()))
                    .append('\n');
        }
        files.writeBytes(new Path(dir, "prompts.jsonl"), promptsText.toString().getBytes(StandardCharsets.UTF_8));
        files.writeBytes(new Path(dir, "corpora/original/corpus.jsonl"), original.toString().getBytes(StandardCharsets.UTF_8));

        List<String> corpusSettings = new ArrayList<>(CORPUS);
        corpusSettings.add("teacher.path=" + teacher);
        corpusSettings.add("data.path=" + new Path(dir, "prompts.jsonl"));
        corpusSettings.add("output.path=" + new Path(dir, "corpora/cot"));
        corpusSettings.add("run.dir=" + new Path(dir, "cot-run"));
        long corpusStart = System.nanoTime();
        DistillDataJob.Result corpus = new DistillDataJob(spark, DistillDataConfig.load(null, corpusSettings)).run();
        double corpusSeconds = (System.nanoTime() - corpusStart) / 1e9;

        StudentRun sftOnlyRun = train(spark, "student trained with SFT only", sftPreset, overrides,
                new Path(dir, "student-sft-only"), List.of("data.path=" + new Path(root, "data/train.jsonl")), heldout,
                engine, partitions);
        List<String> bothCorpora = List.of("data.path=" + new Path(dir, "corpora/*/corpus.jsonl"),
                "data.format=prompt_completion");
        StudentRun sequenceRun = train(spark, "student trained on the teacher's verified corpus (SFT)", sftPreset,
                overrides, new Path(dir, "student-sequence"), bothCorpora, heldout, engine, partitions);
        List<String> withLogits = new ArrayList<>(bothCorpora);
        withLogits.addAll(DISTILL);
        withLogits.add("distill.teacher=" + teacher);
        StudentRun distilledRun = train(spark, "distilled student (verified corpus and the teacher's logits)",
                sftPreset, overrides, new Path(dir, "student-distilled"), withLogits, heldout, engine, partitions);
        SftResult sftOnly = sftOnlyRun.result();
        SftResult sequenceStudent = sequenceRun.result();
        SftResult student = distilledRun.result();
        TaskEvaluation.Result sftOnlyEval = sftOnlyRun.eval();
        TaskEvaluation.Result sequenceEval = sequenceRun.eval();
        TaskEvaluation.Result studentEval = distilledRun.eval();
        double sequenceSeconds = sequenceRun.seconds();
        double distillSeconds = distilledRun.seconds();

        stage.put("name", "distill");
        stage.put("teacher", teacher);
        stage.put("teacher_params", teacherParams);
        stage.put("student_params", student.modelParams().length);
        stage.put("teacher_heldout_accuracy", teacherAccuracy);
        stage.put("student_heldout_accuracy", studentEval.accuracy());
        stage.put("student_sft_only_accuracy", sftOnlyEval.accuracy());
        stage.put("student_sequence_distill_accuracy", sequenceEval.accuracy());
        stage.put("heldout_examples", studentEval.total());
        stage.put("student_rounds", student.roundsRun());
        stage.put("student_examples_distilled", student.corpus().examples());
        stage.put("student_examples_sft_only", sftOnly.corpus().examples());
        stage.put("student_tokens_distilled", student.tokensTrained());
        stage.put("student_tokens_sft_only", sftOnly.tokensTrained());
        ObjectNode logitSettings = stage.putObject("logits");
        logitSettings.put("divergence", "forward_kl");
        logitSettings.put("temperature", 1.0);
        logitSettings.put("ce_weight", 0.5);
        ObjectNode stats = stage.putObject("corpus");
        stats.put("path", corpus.jsonl());
        for (String key : List.of("prompts", "samples", "verified", "teacher_accuracy", "prompt_coverage", "accepted",
                "duplicates_dropped", "over_limit_dropped", "samples_per_second")) {
            stats.set(key, JSON.valueToTree(corpus.stats().get(key)));
        }
        stats.set("rationale_tokens", JSON.valueToTree(corpus.stats().get("rationale_tokens")));
        stage.put("corpus_seconds", corpusSeconds);
        stage.put("distill_seconds", distillSeconds);
        stage.put("sequence_distill_seconds", sequenceSeconds);
        stage.put("distill_mean_round_seconds", student.meanRoundSeconds());
        stage.put("sequence_distill_mean_round_seconds", sequenceStudent.meanRoundSeconds());
        stage.put("sft_only_mean_round_seconds", sftOnly.meanRoundSeconds());
        stage.put("seconds", (System.nanoTime() - start) / 1e9);
        System.out.println(String.format("distill: teacher %.1f%% (%d params) -> student %.1f%% (%d params); "
                        + "same student with SFT only %.1f%%, with SFT on the verified corpus %.1f%%; "
                        + "corpus %d of %d samples verified",
                100 * teacherAccuracy, teacherParams, 100 * studentEval.accuracy(), student.modelParams().length,
                100 * sftOnlyEval.accuracy(), 100 * sequenceEval.accuracy(), ((Number) corpus.stats().get("verified")).longValue(),
                ((Number) corpus.stats().get("samples")).longValue()));
    }

    /** A student's training result, its held-out evaluation, and the seconds its training took. */
    private record StudentRun(SftResult result, TaskEvaluation.Result eval, double seconds) {
    }

    /** Trains one student (the SFT preset, the student's shape, its run directory, data, overrides) and evaluates it. */
    private static StudentRun train(SparkSession spark, String name, List<String> sftPreset, List<String> overrides,
                                    Path runDir, List<String> data, List<TaskExample> heldout, EngineOptions engine,
                                    int partitions) {
        List<String> settings = new ArrayList<>(sftPreset);
        settings.addAll(STUDENT);
        settings.add("run.dir=" + runDir);
        settings.addAll(data);
        settings.addAll(overrides);
        long start = System.nanoTime();
        SftResult result = new SftJob(spark, SftConfig.load(null, settings)).run();
        double seconds = (System.nanoTime() - start) / 1e9;
        TaskEvaluation.Result eval = evaluate(spark, result, heldout, engine, partitions);
        LOG.info("Held-out accuracy of the {}: {}/{}", name, eval.correct(), eval.total());
        return new StudentRun(result, eval, seconds);
    }

    private static TaskEvaluation.Result evaluate(SparkSession spark, SftResult result, List<TaskExample> heldout,
                                                  EngineOptions engine, int partitions) {
        return TaskEvaluation.evaluate(spark, result.config(), result.modelParams(), result.tokenizer(), heldout,
                ArithmeticTask.verifier(), DemoCommand.MAX_NEW_TOKENS, partitions, engine, 100);
    }

}
