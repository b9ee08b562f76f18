package io.whetstone.jobs.tts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.tasks.AnswerFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Real data as a pipeline check: the four real model solutions of each GSM8K test question
 * ({@code shared/assets/gsm8k_model_solutions.jsonl}) voted on and picked by the verifier, against each model
 * alone. The answers are read and compared by the same code the tts job uses.
 */
class RealSolutionsVoteTest {

    private static final String[] MODELS = {"6b_finetuning", "6b_verification", "175b_finetuning",
        "175b_verification"};

    @Test
    void votingOverFourRealSolutionsAndTheVerifiersPick() throws IOException {
        Path file = Path.of(System.getProperty("whetstone.assets", "../shared/assets"))
                .resolve("gsm8k_model_solutions.jsonl");
        ObjectMapper json = new ObjectMapper();
        AnswerFormat format = AnswerFormat.GSM8K;
        Map<String, Integer> right = new LinkedHashMap<>();
        int questions = 0;
        int agree = 0;
        int judged = 0;
        for (String line : Files.readAllLines(file)) {
            JsonNode record = json.readTree(line);
            String reference = format.reference(record.get("ground_truth").asText()).orElseThrow();
            List<Candidate> candidates = new ArrayList<>();
            for (String model : MODELS) {
                JsonNode solution = record.get(model);
                String answer = format.extract(solution.get("solution").asText()).orElse(null);
                boolean correct = reference.equals(answer);
                // the dataset's own label and this verifier should agree
                agree += correct == solution.get("is_correct").asBoolean() ? 1 : 0;
                judged++;
                right.merge(model, correct ? 1 : 0, Integer::sum);
                // no log-probs come with the solutions: ties go to the answer voted for first
                candidates.add(new Candidate(answer, 0, 0, correct, Double.NaN));
            }
            right.merge("majority_vote", reference.equals(Strategies.majority(candidates).answer()) ? 1 : 0,
                    Integer::sum);
            right.merge("verifier_pick", reference.equals(Strategies.oracle(candidates).answer()) ? 1 : 0,
                    Integer::sum);
            questions++;
        }
        assertEquals(1319, questions);
        StringBuilder report = new StringBuilder("GSM8K test, four real solutions per question:");
        for (Map.Entry<String, Integer> entry : right.entrySet()) {
            report.append(String.format(" %s %.1f%%;", entry.getKey(), 100.0 * entry.getValue() / questions));
        }
        report.append(String.format(" verifier agrees with is_correct on %.2f%% of %d solutions", 100.0 * agree / judged,
                judged));
        System.out.println(report);
        assertTrue(agree >= 0.98 * judged, report.toString());
        int best = 0;
        int worst = Integer.MAX_VALUE;
        for (String model : MODELS) {
            best = Math.max(best, right.get(model));
            worst = Math.min(worst, right.get(model));
        }
        assertTrue(right.get("verifier_pick") >= best, report.toString());
        assertTrue(right.get("majority_vote") >= worst, report.toString());
    }
}
