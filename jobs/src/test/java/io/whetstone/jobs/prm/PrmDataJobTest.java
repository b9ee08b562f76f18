package io.whetstone.jobs.prm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.PrmDataConfig;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * prm-data on the built-in task with a small SFT model: every solution's steps are labelled by rollouts and
 * exactly; the labels obey the Monte-Carlo rules; agreement with the true labels is reported; a rerun with other
 * partitioning labels identically.
 */
class PrmDataJobTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void stepsAreLabelledByRolloutsAndAgainstTheTrueSolution(@TempDir Path dir) throws Exception {
        List<String> sftLines = new ArrayList<>();
        for (TaskExample example : new ArithmeticTask(2, 2, false, 3).generate(ArithmeticTask.Split.TRAIN, 200)) {
            sftLines.add(JSON.createObjectNode().put("question", example.question()).put("answer", example.solution())
                    .toString());
        }
        List<String> sft = TestData.tinySft(TestData.write(dir, "sft.jsonl", sftLines), dir.resolve("sft"));
        sft.addAll(List.of("data.format=gsm8k", "data.seq_len=128", "train.rounds=30", "model.width=48"));
        SftResult policy = new SftJob(SparkTestSession.get(), SftConfig.load(null, sft)).run();
        List<String> questions = new ArrayList<>();
        for (TaskExample example : new ArithmeticTask(2, 2, false, 3).generate(ArithmeticTask.Split.TEST, 6)) {
            questions.add(JSON.createObjectNode().put("question", example.question()).put("answer", example.solution())
                    .toString());
        }
        Path data = TestData.write(dir, "questions.jsonl", questions);
        PrmDataJob.Result first = run(policy, data, dir, "labels-2", 2);
        assertEquals(6 * 3, first.solutions().size());
        int partial = 0;
        for (LabelledSolution solution : first.solutions()) {
            assertEquals(solution.steps().size(), solution.soft().length);
            assertEquals(solution.steps().size(), solution.trueLabels().length);
            double last = solution.soft()[solution.steps().size() - 1];
            assertEquals(solution.correct() ? 1.0 : 0.0, last, "the last step is labelled by the solution itself");
            for (int k = 0; k < solution.steps().size(); k++) {
                double soft = solution.soft()[k];
                if (!Double.isNaN(soft)) {
                    assertTrue(soft >= 0 && soft <= 1);
                    assertTrue(soft * 4 == Math.rint(soft * 4), "a share of 4 rollouts: " + soft);
                    partial += soft > 0 && soft < 1 ? 1 : 0;
                }
            }
            // on the reference's path at the last step means the whole solution is the reference: right
            if (solution.trueLabels()[solution.steps().size() - 1]) {
                assertTrue(solution.correct(), String.join("", solution.steps()));
            }
        }
        assertTrue(first.stats().containsKey("hard_label_accuracy"), first.stats().toString());
        double accuracy = (double) first.stats().get("hard_label_accuracy");
        assertTrue(accuracy >= 0 && accuracy <= 1);
        System.out.println("prm-data on the toy task: " + first.stats() + ", partial labels " + partial);

        Path runDir = Path.of(URI.create(first.data())).getParent();
        assertTrue(Files.exists(runDir.resolve("_SUCCESS")));
        List<String> lines = Files.readAllLines(runDir.resolve("steps.jsonl"));
        assertEquals(18, lines.size());
        JsonNode line = JSON.readTree(lines.get(0));
        assertEquals(line.get("steps").size(), line.get("soft_labels").size());
        assertEquals(line.get("steps").size(), line.get("true_labels").size());

        PrmDataJob.Result again = run(policy, data, dir, "labels-3", 3);
        assertEquals(lines, Files.readAllLines(Path.of(URI.create(again.data()))), "another partitioning, same labels");

        // 6 questions in chunks of 4: a run killed after its first chunk resumes at the second, to the same labels
        Path work;
        try (java.util.stream.Stream<Path> listing = Files.list(dir)) {
            work = listing.filter(p -> p.getFileName().toString().startsWith(".labels-2.chunks-")).findFirst()
                    .orElseThrow();
        }
        Files.delete(work.resolve("chunk-00001/_SUCCESS"));
        PrmDataJob.Result resumed = run(policy, data, dir, "labels-2", 2);
        assertEquals(lines, Files.readAllLines(Path.of(URI.create(resumed.data()))), "resumed, same labels");
        long chunkLines = Files.readAllLines(dir.resolve("labels-2-run/metrics.jsonl")).stream()
                .filter(l -> l.contains("\"chunk_s\"")).count();
        assertEquals(3, chunkLines, "2 chunks in the first run, only the unfinished one in the rerun");
    }

    private static PrmDataJob.Result run(SftResult policy, Path data, Path dir, String name, int partitions) {
        return new PrmDataJob(SparkTestSession.get(), PrmDataConfig.load(null, List.of("policy.path="
                + policy.checkpoint(), "data.path=" + data.toUri(), "run.dir=" + dir.resolve(name + "-run").toUri(),
                "output.path=" + dir.resolve(name).toUri(), "sampling.solutions_per_prompt=3",
                "sampling.rollouts_per_step=4", "sampling.max_new_tokens=64", "sampling.decode_batch=16",
                "steps.delimiter='. '", "steps.true_labels=true", "sampling.chunk_prompts=4", "answer.format=task", "spark.partitions="
                        + partitions, "spark.threads_per_task=1"))).run();
    }
}
