package io.whetstone.jobs.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.eval.Interval;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/**
 * Writes {@code report.html} for a run directory: a pipeline's (its stages from {@code pipeline.json}), the
 * demo's (its stage directories and {@code summary.json}) or a single job's. For each stage: its numbers, a chart
 * of every metric it logged per round or iteration (grouped mean/min/max), its held-out evaluations with 95%
 * Wilson intervals, its events (guards, rollbacks, config changes), sample completions with their verdicts, and
 * its resolved config. Everything comes from the files; nothing is assumed about which job wrote them.
 */
public final class RunReport {

    /** The report's file name. */
    public static final String FILE = "report.html";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Metrics shown first, in this order, when a stage logs them; the rest follow in the order they appear. */
    private static final List<String> FIRST = List.of("loss", "eval_loss", "lr", "tokens_per_s", "completions_per_s",
            "reward", "reward_mean", "kl", "entropy", "response_length", "clip_fraction", "zero_variance_fraction",
            "reward_margin", "preference_accuracy", "divergence", "kd_loss", "grad_norm");
    /** Keys that are the x axis, running sums behind a mean, or forecasts: not charted. */
    private static final Set<String> NOT_CHARTED = Set.of("round", "iteration", "step", "eta_s");

    private RunReport() {
    }

    /** Writes {@code <dir>/report.html} and returns its path. */
    public static String write(HadoopFiles files, String dir) {
        String root = files.qualify(dir);
        String html = render(files, root);
        Path target = new Path(root, FILE);
        files.writeBytes(target, html.getBytes(StandardCharsets.UTF_8));
        return target.toString();
    }

    /** The report of {@code root} as HTML text. */
    public static String render(HadoopFiles files, String root) {
        JsonNode pipeline = json(files, new Path(root, "pipeline.json"));
        JsonNode summary = json(files, new Path(root, "summary.json"));
        List<StageData> stages = stages(files, root, pipeline);
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Whetstone report: ")
                .append(Html.escape(new Path(root).getName())).append("</title><style>").append(CSS)
                .append("</style></head><body>");
        html.append("<h1>Whetstone run report</h1><p class=\"meta\">").append(Html.escape(root))
                .append(" &middot; written ").append(Html.escape(Instant.now().toString())).append("</p>");
        overview(html, stages, pipeline);
        evaluations(html, stages, summary);
        ForgettingTable.append(html, pipeline);
        for (StageData stage : stages) {
            stageSection(html, stage, pipelineLine(pipeline, stage.name()));
        }
        List<StageData.Samples> rootSamples = StageData.samples(files, new Path(root, "eval"));
        if (!rootSamples.isEmpty()) {
            html.append("<h2>Held-out samples</h2>");
            rootSamples.forEach(samples -> samples(html, samples));
        }
        if (stages.isEmpty()) {
            html.append("<p>No run output found in this directory (no metrics.jsonl, stage.json or pipeline.json).</p>");
        }
        return html.append("</body></html>").toString();
    }

    /** The stages in the order they ran: a pipeline's order, else directories with a metrics log by name. */
    private static List<StageData> stages(HadoopFiles files, String root, JsonNode pipeline) {
        List<StageData> stages = new ArrayList<>();
        if (pipeline != null) {
            for (JsonNode line : pipeline.path("stages")) {
                Path dir = new Path(root, line.path("name").asText());
                if (files.exists(dir)) {
                    stages.add(StageData.read(files, line.path("name").asText(), dir.toString()));
                }
            }
            return stages;
        }
        if (files.exists(new Path(root, "metrics.jsonl"))) {
            stages.add(StageData.read(files, new Path(root).getName(), root));
            return stages;
        }
        try {
            FileStatus[] children = files.fs(new Path(root)).listStatus(new Path(root));
            List<FileStatus> dirs = new ArrayList<>();
            for (FileStatus child : children) {
                if (child.isDirectory() && (files.exists(new Path(child.getPath(), "metrics.jsonl"))
                        || files.exists(new Path(child.getPath(), "stage.json")))) {
                    dirs.add(child);
                }
            }
            // the order they ran in: when each was first written
            dirs.sort(java.util.Comparator.comparingLong(RunReport::firstWritten));
            for (FileStatus child : dirs) {
                stages.add(StageData.read(files, child.getPath().getName(), child.getPath().toString()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
        return stages;
    }

    private static long firstWritten(FileStatus dir) {
        return dir.getModificationTime();
    }

    private static void overview(StringBuilder html, List<StageData> stages, JsonNode pipeline) {
        html.append("<h2>Stages</h2><table><tr><th>stage</th><th>command</th><th>outcome</th><th>time</th>"
                + "<th>peak memory</th><th>result</th></tr>");
        for (StageData stage : stages) {
            JsonNode line = pipelineLine(pipeline, stage.name());
            JsonNode record = stage.stage();
            String outcome = line != null ? line.path("outcome").asText("") : record != null
                    ? record.path("status").asText("") : stage.end().size() > 0 ? "done" : "incomplete";
            double seconds = record != null && record.has("seconds") ? record.path("seconds").asDouble()
                    : sum(stage.rounds(), "round_s") + sum(stage.rounds(), "iteration_s");
            String result = stage.end().path("checkpoint").asText(stage.end().path("output").asText(
                    record != null ? record.path("outputs").path("result").asText("") : ""));
            html.append("<tr><td><a href=\"#stage-").append(Html.escape(stage.name())).append("\">")
                    .append(Html.escape(stage.name())).append("</a></td><td>")
                    .append(Html.escape(record != null ? record.path("command").asText("") : "")).append("</td><td>")
                    .append(Html.escape(outcome)).append("</td><td>").append(duration(seconds)).append("</td><td>")
                    .append(line != null && line.path("memory").path("peak_rss_mb").asLong(-1) > 0
                            ? line.path("memory").path("peak_rss_mb").asLong() + " MB" : "")
                    .append("</td><td class=\"path\">")
                    .append(Html.escape(result.length() > 120 ? result.substring(0, 117) + "..." : result))
                    .append("</td></tr>");
        }
        html.append("</table>");
    }

    /** Held-out results of every stage in one table: accuracy with its 95% interval, or the fields it has. */
    private static void evaluations(StringBuilder html, List<StageData> stages, JsonNode summary) {
        List<String[]> rows = new ArrayList<>();
        if (summary != null) {
            for (JsonNode stage : summary.path("stages")) {
                long n = stage.path("heldout_examples").asLong(0);
                for (String when : List.of("before", "after")) {
                    JsonNode accuracy = stage.get("heldout_accuracy_" + when);
                    if (accuracy != null && n > 0) {
                        rows.add(accuracyRow(stage.path("name").asText() + " (" + when + ")", "held-out problems",
                                Math.round(accuracy.asDouble() * n), n));
                    }
                }
                if (stage.has("heldout_pair_accuracy") && stage.path("heldout_pairs").asLong() > 0) {
                    long pairs = stage.path("heldout_pairs").asLong();
                    rows.add(accuracyRow(stage.path("name").asText(), "held-out pairs ranked right",
                            Math.round(stage.path("heldout_pair_accuracy").asDouble() * pairs), pairs));
                }
            }
        }
        for (StageData stage : stages) {
            for (JsonNode result : stage.results()) {
                if (result.has("correct") && result.has("total") && result.path("total").asLong() > 0) {
                    rows.add(accuracyRow(stage.name(), result.path("model").asText(""), result.path("correct").asLong(),
                            result.path("total").asLong()));
                } else {
                    rows.add(new String[] {Html.escape(stage.name()), Html.escape(result.path("model").asText("")),
                            fields(result, Set.of("model")), "", ""});
                }
            }
            JsonNode first = null;
            JsonNode last = null;
            for (JsonNode event : stage.events()) {
                if (event.has("eval") && event.path("eval").has("prompts")) {
                    first = first == null ? event : first;
                    last = event;
                }
            }
            Map<String, String> types = rewardTypes(stage.config());
            for (JsonNode event : first == null ? List.<JsonNode>of() : first == last ? List.of(first)
                    : List.of(first, last)) {
                long n = event.path("eval").path("prompts").asLong();
                String label = stage.name() + " (iteration " + event.path("iteration").asInt() + ")";
                event.path("eval").fields().forEachRemaining(field -> {
                    String name = field.getKey();
                    if (name.equals("prompts") || name.equals("reward") && event.path("eval").size() <= 3) {
                        return; // the total of a single component is that component
                    }
                    double mean = field.getValue().asDouble();
                    if (io.whetstone.jobs.rollout.RewardFactory.ZERO_ONE_TYPES.contains(types.getOrDefault(name, ""))) {
                        rows.add(accuracyRow(label, "held-out prompts, " + name + " = 1", Math.round(mean * n), n));
                    } else {
                        rows.add(new String[] {Html.escape(label), Html.escape("held-out prompts, mean " + name),
                                Html.number(mean), "", Long.toString(n)});
                    }
                });
            }
        }
        if (rows.isEmpty()) {
            return;
        }
        html.append("<h2>Held-out evaluation</h2><table><tr><th>stage</th><th>model or data</th><th>result</th>"
                + "<th>95% interval</th><th>n</th></tr>");
        for (String[] row : rows) {
            html.append("<tr>");
            for (String cell : row) {
                html.append("<td>").append(cell).append("</td>");
            }
            html.append("</tr>");
        }
        html.append("</table>");
    }

    /** An RL stage's reward components, name to type, from its resolved config (empty when it has none). */
    static Map<String, String> rewardTypes(String resolvedConfig) {
        Map<String, String> types = new LinkedHashMap<>();
        if (resolvedConfig == null) {
            return types;
        }
        try {
            JsonNode components = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                    .readTree(resolvedConfig).path("rewards").path("components");
            for (JsonNode component : components) {
                String type = component.path("type").asText();
                types.put(component.path("name").asText(type), type);
            }
        } catch (IOException e) {
            // a config the report cannot read: every component is shown as a mean, without an interval
        }
        return types;
    }

    private static String[] accuracyRow(String stage, String on, long correct, long total) {
        Interval interval = Interval.wilson(correct, total);
        return new String[] {Html.escape(stage), Html.escape(on), Html.percent((double) correct / total),
                "[" + Html.percent(interval.low()) + ", " + Html.percent(interval.high()) + "]", Long.toString(total)};
    }

    private static void stageSection(StringBuilder html, StageData stage, JsonNode line) {
        html.append("<section id=\"stage-").append(Html.escape(stage.name())).append("\"><h2>")
                .append(Html.escape(stage.name())).append("</h2>");
        if (line != null && line.has("reason")) {
            html.append("<p class=\"meta\">").append(Html.escape(line.path("reason").asText())).append("</p>");
        }
        numbers(html, stage);
        charts(html, stage);
        summaryTables(html, stage);
        for (StageData.Figure figure : stage.figures()) {
            // as an image, so the figure's own ids and styles cannot clash with the page's
            html.append("<figure><img alt=\"").append(Html.escape(new Path(figure.file()).getName()))
                    .append("\" src=\"data:image/svg+xml;base64,")
                    .append(java.util.Base64.getEncoder().encodeToString(figure.svg().getBytes(StandardCharsets.UTF_8)))
                    .append("\"><figcaption>").append(Html.escape(new Path(figure.file()).getName()))
                    .append("</figcaption></figure>");
        }
        events(html, stage);
        stage.samples().forEach(samples -> samples(html, samples));
        if (stage.config() != null) {
            html.append("<details><summary>Resolved config</summary><pre>").append(Html.escape(stage.config()))
                    .append("</pre></details>");
        }
        if (stage.stage() != null && stage.stage().has("argv")) {
            List<String> argv = new ArrayList<>();
            stage.stage().path("argv").forEach(arg -> argv.add(arg.asText()));
            html.append("<details><summary>Command line</summary><pre>whetstone ")
                    .append(Html.escape(String.join(" ", argv))).append("</pre></details>");
        }
        html.append("</section>");
    }

    /** Start and end events' fields, round counts, mean throughput. */
    private static void numbers(StringBuilder html, StageData stage) {
        Map<String, String> numbers = new LinkedHashMap<>();
        for (JsonNode event : stage.events()) {
            if (event.path("event").asText().equals("start") || event.path("event").asText().equals("end")) {
                event.fields().forEachRemaining(field -> {
                    if (field.getValue().isValueNode() && !field.getKey().equals("event")) {
                        numbers.put(field.getKey(), field.getValue().isNumber()
                                ? Html.number(field.getValue().asDouble()) : field.getValue().asText());
                    }
                });
            }
        }
        if (!stage.rounds().isEmpty()) {
            numbers.put("records", Integer.toString(stage.rounds().size()));
            for (String key : List.of("tokens_per_s", "completions_per_s")) {
                double mean = mean(stage.rounds(), key);
                if (Double.isFinite(mean)) {
                    numbers.put("mean " + key, Html.number(mean));
                }
            }
            for (String key : List.of("loss", "reward_mean")) {
                if (stage.rounds().get(0).has(key)) {
                    numbers.put("first " + key, Html.number(stage.rounds().get(0).path(key).asDouble()));
                    numbers.put("last " + key, Html.number(stage.rounds().get(stage.rounds().size() - 1).path(key)
                            .asDouble()));
                }
            }
        }
        if (numbers.isEmpty()) {
            return;
        }
        html.append("<dl class=\"numbers\">");
        numbers.forEach((key, value) -> html.append("<div><dt>").append(Html.escape(key)).append("</dt><dd>")
                .append(Html.escape(value)).append("</dd></div>"));
        html.append("</dl>");
    }

    /** One chart per logged metric (mean/min/max and value/max pairs together), constants listed instead. */
    private static void charts(StringBuilder html, StageData stage) {
        List<JsonNode> rounds = stage.rounds();
        if (rounds.isEmpty()) {
            return;
        }
        String xKey = rounds.get(0).has("iteration") ? "iteration" : rounds.get(0).has("round") ? "round" : "step";
        double[] x = rounds.stream().mapToDouble(r -> r.path(xKey).asDouble(Double.NaN)).toArray();
        Set<String> keys = new LinkedHashSet<>();
        for (JsonNode record : rounds) {
            record.fields().forEachRemaining(field -> {
                if (field.getValue().isNumber() && !NOT_CHARTED.contains(field.getKey())
                        && !field.getKey().endsWith("_sum")) {
                    keys.add(field.getKey());
                }
            });
        }
        List<String> ordered = new ArrayList<>();
        FIRST.stream().filter(keys::contains).forEach(ordered::add);
        keys.stream().filter(key -> !ordered.contains(key)).forEach(ordered::add);
        Set<String> drawn = new LinkedHashSet<>();
        Map<String, String> constants = new LinkedHashMap<>();
        StringBuilder grid = new StringBuilder();
        for (String key : ordered) {
            if (drawn.contains(key)) {
                continue;
            }
            String base = key.endsWith("_mean") ? key.substring(0, key.length() - 5) : key;
            List<String> group = new ArrayList<>(List.of(key));
            for (String suffix : List.of("_min", "_max")) {
                if (keys.contains(base + suffix)) {
                    group.add(base + suffix);
                }
            }
            drawn.addAll(group);
            List<SvgChart.Series> series = new ArrayList<>();
            for (String member : group) {
                series.add(new SvgChart.Series(member, x, rounds.stream()
                        .mapToDouble(r -> r.has(member) ? r.path(member).asDouble() : Double.NaN).toArray()));
            }
            if (group.size() == 1 && constant(series.get(0).y())) {
                constants.put(key, Html.number(series.get(0).y()[0]));
                continue;
            }
            grid.append(SvgChart.render(base, xKey, series));
        }
        for (Map.Entry<String, double[][]> eval : evalSeries(stage).entrySet()) {
            grid.append(SvgChart.render("held-out " + eval.getKey(), "iteration",
                    List.of(new SvgChart.Series(eval.getKey(), eval.getValue()[0], eval.getValue()[1]))));
        }
        html.append("<div class=\"grid\">").append(grid).append("</div>");
        if (!constants.isEmpty()) {
            html.append("<p class=\"meta\">Constant over the run: ");
            constants.forEach((key, value) -> html.append(Html.escape(key)).append(" = ").append(value).append("; "));
            html.append("</p>");
        }
    }

    /** A job's {@code summary.json}: each list of records in it as a table (tts's strategies and budgets). */
    private static void summaryTables(StringBuilder html, StageData stage) {
        if (stage.summary() == null) {
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = stage.summary().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (!field.getValue().isArray() || field.getValue().isEmpty() || !field.getValue().get(0).isObject()) {
                continue;
            }
            Set<String> columns = new LinkedHashSet<>();
            field.getValue().forEach(row -> row.fieldNames().forEachRemaining(columns::add));
            html.append("<h3>").append(Html.escape(field.getKey())).append("</h3><table><tr>");
            columns.forEach(column -> html.append("<th>").append(Html.escape(column)).append("</th>"));
            html.append("</tr>");
            for (JsonNode row : field.getValue()) {
                html.append("<tr>");
                for (String column : columns) {
                    JsonNode value = row.path(column);
                    String text = value.isNumber() ? Html.number(value.asDouble()) : value.isArray()
                            ? arrayText(value) : value.isMissingNode() || value.isNull() ? "" : value.asText();
                    html.append("<td>").append(Html.escape(text)).append("</td>");
                }
                html.append("</tr>");
            }
            html.append("</table>");
        }
    }

    private static String arrayText(JsonNode array) {
        List<String> items = new ArrayList<>();
        array.forEach(item -> items.add(item.isNumber() ? Html.number(item.asDouble()) : item.asText()));
        return "[" + String.join(", ", items) + "]";
    }

    /** Held-out evaluation events ({@code "eval": {...}}) as series over iterations, one per field. */
    private static Map<String, double[][]> evalSeries(StageData stage) {
        List<JsonNode> evals = stage.events().stream().filter(e -> e.path("eval").isObject()).toList();
        Map<String, double[][]> series = new LinkedHashMap<>();
        if (evals.size() < 2) {
            return series;
        }
        for (Iterator<String> it = evals.get(0).path("eval").fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (key.equals("prompts")) {
                continue;
            }
            series.put(key, new double[][] {evals.stream().mapToDouble(e -> e.path("iteration").asDouble()).toArray(),
                    evals.stream().mapToDouble(e -> e.path("eval").path(key).asDouble(Double.NaN)).toArray()});
        }
        return series;
    }

    /** Events other than start, end and evaluations: guard breaches, rollbacks, stops, resumes, config changes. */
    private static void events(StringBuilder html, StageData stage) {
        List<JsonNode> shown = stage.events().stream().filter(e -> !Set.of("start", "end")
                .contains(e.path("event").asText()) && !e.path("eval").isObject()).toList();
        if (shown.isEmpty()) {
            return;
        }
        html.append("<h3>Events</h3><table><tr><th>event</th><th>details</th></tr>");
        for (JsonNode event : shown) {
            html.append("<tr><td>").append(Html.escape(event.path("event").asText())).append("</td><td>")
                    .append(fields(event, Set.of("event"))).append("</td></tr>");
        }
        html.append("</table>");
    }

    private static void samples(StringBuilder html, StageData.Samples samples) {
        html.append("<h3>Samples from ").append(Html.escape(new Path(samples.file()).getName())).append("</h3>")
                .append("<p class=\"meta\">").append(samples.correct()).append(" of ").append(samples.total())
                .append(" right; all of them: <code>whetstone show ").append(Html.escape(samples.file()))
                .append("</code></p><table><tr><th>prompt</th><th>completion</th><th>verdict</th></tr>");
        for (JsonNode sample : samples.shown()) {
            String prompt = sample.path("question").asText(sample.path("prompt").asText(sample.path("id").asText()));
            boolean right = sample.path("correct").asBoolean();
            html.append("<tr><td>").append(Html.escape(prompt)).append("</td><td><pre>")
                    .append(Html.escape(sample.path("completion").asText())).append("</pre></td><td class=\"")
                    .append(right ? "ok\">right" : "bad\">wrong").append("</td></tr>");
        }
        html.append("</table>");
    }

    private static String fields(JsonNode node, Set<String> skip) {
        StringBuilder text = new StringBuilder();
        node.fields().forEachRemaining(field -> {
            if (!skip.contains(field.getKey())) {
                text.append(text.length() == 0 ? "" : "; ").append(field.getKey()).append(" = ")
                        .append(field.getValue().isNumber() ? Html.number(field.getValue().asDouble())
                                : field.getValue().isTextual() ? field.getValue().asText() : field.getValue().toString());
            }
        });
        return Html.escape(text.toString());
    }

    private static JsonNode pipelineLine(JsonNode pipeline, String name) {
        if (pipeline == null) {
            return null;
        }
        for (JsonNode line : pipeline.path("stages")) {
            if (line.path("name").asText().equals(name)) {
                return line;
            }
        }
        return null;
    }

    private static JsonNode json(HadoopFiles files, Path path) {
        if (!files.exists(path)) {
            return null;
        }
        try {
            return JSON.readTree(files.readBytes(path));
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean constant(double[] values) {
        for (double value : values) {
            if (Double.compare(value, values[0]) != 0) {
                return false;
            }
        }
        return true;
    }

    private static double sum(List<JsonNode> records, String key) {
        return records.stream().mapToDouble(r -> r.path(key).asDouble(0)).sum();
    }

    private static double mean(List<JsonNode> records, String key) {
        return records.stream().filter(r -> r.has(key)).mapToDouble(r -> r.path(key).asDouble()).average()
                .orElse(Double.NaN);
    }

    private static String duration(double seconds) {
        if (seconds <= 0) {
            return "";
        }
        return seconds < 120 ? String.format(java.util.Locale.ROOT, "%.0f s", seconds)
                : String.format(java.util.Locale.ROOT, "%.1f min", seconds / 60);
    }

    private static final String CSS = "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1120px;"
            + "color:#222;padding:0 16px}h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;"
            + "padding-bottom:4px;margin-top:32px}h3{font-size:15px}table{border-collapse:collapse;margin:8px 0}"
            + "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}"
            + ".meta{color:#666}.path{font-family:monospace;font-size:12px}.grid{display:flex;flex-wrap:wrap;gap:8px}"
            + ".chart{border:1px solid #eee;background:#fff}.ct{font-size:12px;font-weight:600}"
            + ".ax{font-size:10px;fill:#555}.lg{font-size:10px}.frame{fill:none;stroke:#ccc}"
            + "dl.numbers{display:flex;flex-wrap:wrap;gap:4px 18px}dl.numbers div{min-width:150px}"
            + "dt{color:#666;font-size:12px}dd{margin:0;font-weight:600}pre{margin:0;white-space:pre-wrap;"
            + "font-size:12px}figure{margin:8px 0}figure img{max-width:100%}td.ok{color:#1a7f37}td.bad{color:#c62828}details{margin:6px 0}";
}
