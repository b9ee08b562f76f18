package io.whetstone.jobs.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report of a run directory written here the way the jobs write theirs (an RL stage with reward statistics,
 * a guard event and held-out evaluations; a tts stage with its summary and plot): every number it shows comes
 * from those files.
 */
class RunReportTest {

    @TempDir
    Path dir;

    @Test
    void showsEachStagesChartsEventsEvaluationsAndFigures() throws IOException {
        Path rl = Files.createDirectories(dir.resolve("grpo"));
        List<String> lines = new ArrayList<>();
        lines.add("{\"event\":\"start\",\"iteration\":0,\"params\":805760}");
        lines.add("{\"event\":\"eval_before\",\"iteration\":0,\"eval\":{\"correct\":0.5,\"overlong\":-0.25,"
                + "\"reward\":0.4,\"prompts\":200.0}}");
        for (int i = 1; i <= 4; i++) {
            lines.add(String.format(Locale.ROOT, "{\"iteration\":%d,\"reward_mean\":%.3f,\"reward_min\":0.0,"
                    + "\"reward_max\":1.0,\"kl\":%.4f,\"entropy\":0.05,\"lr\":1e-4,\"eta_s\":99}", i, 0.3 + 0.05 * i,
                    0.001 * i));
        }
        lines.add("{\"event\":\"guard_breach\",\"iteration\":4,\"guard\":\"kl_max\",\"value\":0.61}");
        lines.add("{\"event\":\"eval\",\"iteration\":4,\"eval\":{\"correct\":0.62,\"overlong\":-0.1,"
                + "\"reward\":0.57,\"prompts\":200.0}}");
        lines.add("{\"event\":\"end\",\"iterations_run\":4,\"checkpoint\":\"file:/x/grpo/checkpoints/round-000004\"}");
        Files.write(rl.resolve("metrics.jsonl"), lines);
        Files.writeString(rl.resolve("config.resolved.yaml"), "algorithm:\n  name: grpo\nrewards:\n  components:\n"
                + "    - {name: correct, type: task, weight: 1.0}\n    - {name: overlong, type: length, weight: 0.5}\n");

        Path tts = Files.createDirectories(dir.resolve("tts"));
        Files.writeString(tts.resolve("metrics.jsonl"), "{\"event\":\"end\",\"questions\":50,\"seconds\":12.5}\n");
        Files.writeString(tts.resolve("summary.json"), "{\"questions\": 50, \"strategies\": [{\"name\": "
                + "\"self_consistency\", \"budget\": 4, \"accuracy\": 0.56, \"ci95\": [0.42, 0.69]}]}");
        Files.writeString(tts.resolve("accuracy_vs_tokens.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");

        String html = RunReport.render(new HadoopFiles(new Configuration()), dir.toString());
        String grpo = section(html, "grpo");
        assertTrue(grpo.contains("aria-label=\"reward\""), "mean, min and max of the reward in one chart");
        assertEquals(3, count(section(grpo, "reward", "</svg>"), "<polyline"), "three lines in the reward chart");
        assertTrue(grpo.contains("aria-label=\"kl\"") && grpo.contains("aria-label=\"held-out correct\""));
        assertFalse(grpo.contains("aria-label=\"eta_s\""), "forecasts are not charted");
        assertTrue(grpo.contains("Constant over the run: lr = 1.000e-04; entropy = 0.0500"), grpo);
        assertTrue(grpo.contains("<td>guard_breach</td><td>iteration = 4; guard = kl_max; value = 0.6100</td>"), grpo);
        assertTrue(grpo.contains("last reward_mean</dt><dd>0.5000"), "the last iteration's mean reward");
        // the RL run's own evaluations, first and last: a 0/1 component (by its type in the resolved config) as a
        // proportion with its Wilson interval, any other component and the total as means
        assertTrue(html.contains("<td>grpo (iteration 0)</td><td>held-out prompts, correct = 1</td><td>50.0%</td>"
                + "<td>[43.1%, 56.9%]</td><td>200</td>"), html);
        assertTrue(html.contains("<td>grpo (iteration 0)</td><td>held-out prompts, mean overlong</td><td>-0.2500</td>"
                + "<td></td><td>200</td>"), html);
        assertTrue(html.contains("<td>grpo (iteration 0)</td><td>held-out prompts, mean reward</td><td>0.4000</td>"),
                html);
        assertTrue(html.contains("<td>grpo (iteration 4)</td><td>held-out prompts, correct = 1</td><td>62.0%</td>"));

        String ttsSection = section(html, "tts");
        assertTrue(ttsSection.contains("<td>self_consistency</td><td>4</td><td>0.5600</td><td>[0.4200, 0.6900]</td>"),
                ttsSection);
        assertTrue(ttsSection.contains("src=\"data:image/svg+xml;base64,"), "the plot, embedded");
        assertFalse(html.contains("<script"), "no scripts");
    }

    @Test
    void showsEachTrainedModelsLossOnTheForgettingCorporaFromPipelineJson() throws IOException {
        Files.createDirectories(dir.resolve("sft"));
        Files.createDirectories(dir.resolve("grpo"));
        Files.writeString(dir.resolve("pipeline.json"), """
                {"stages": [
                  {"name": "sft", "command": "sft", "outcome": "ran",
                   "forgetting": {"general": {"model": "file:/r/sft/checkpoints/round-000040", "loss": 2.25}}},
                  {"name": "grpo", "command": "grpo", "outcome": "ran",
                   "forgetting": {"general": {"model": "file:/r/grpo/checkpoints/round-000020", "loss": 2.5,
                                              "initial_model": "file:/r/sft/checkpoints/round-000040",
                                              "initial_loss": 2.25},
                                  "broken": {"exit_code": 2}}}]}
                """);
        String html = RunReport.render(new HadoopFiles(new Configuration()), dir.toString());
        assertTrue(html.contains("<h2>Forgetting</h2>"), html);
        assertTrue(html.contains("<tr><td>sft</td><td>general</td><td>(from scratch)</td><td></td><td>2.250</td>"
                + "<td></td></tr>"), html);
        assertTrue(html.contains("<tr><td>grpo</td><td>general</td><td>file:/r/sft/checkpoints/round-000040</td>"
                + "<td>2.250</td><td>2.500</td><td>+11.1%</td></tr>"), html);
        assertFalse(html.contains("<td>broken</td>"), "a measurement that failed has no numbers to show");
    }

    private static String section(String html, String stage) {
        return section(html, "<section id=\"stage-" + stage + "\">", "</section>");
    }

    private static String section(String text, String from, String to) {
        int start = text.indexOf(from.startsWith("<") ? from : "aria-label=\"" + from + "\"");
        assertTrue(start >= 0, from);
        return text.substring(start, text.indexOf(to, start));
    }

    private static int count(String text, String what) {
        return text.split(java.util.regex.Pattern.quote(what), -1).length - 1;
    }
}
