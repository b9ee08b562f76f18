package io.whetstone.jobs.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BinaryOperator;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores the model a stage trained, and the model it started from ({@code model.init} of its resolved config), on
 * each of the pipeline's {@code forgetting} corpora: a {@code perplexity} run into
 * {@code <stage>/forgetting/<corpus>}. A measurement is kept while its key (the command line, the stage's
 * fingerprint, the corpus's and the starting model's listings) is the one in its {@code _KEY} file.
 */
final class ForgettingMeasurement {

    private static final Logger LOG = LoggerFactory.getLogger(ForgettingMeasurement.class);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final ForgettingSpec spec;
    private final HadoopFiles files;
    private final StageExecutor executor;

    ForgettingMeasurement(ForgettingSpec spec, HadoopFiles files, StageExecutor executor) {
        this.spec = spec;
        this.files = files;
        this.executor = executor;
    }

    /**
     * Measures the stage in {@code dir} whose run is {@code record} on every corpus, writing each corpus's losses
     * into {@code out}. {@code substitute} fills a corpus path's placeholders (text, where it is written).
     * Returns 0, or the exit code of the measurement that failed.
     */
    int measure(String stage, String dir, StageRecord record, BinaryOperator<String> substitute, ObjectNode out) {
        String trained = record.outputs().get("checkpoint");
        String initial = initialModel(dir);
        List<String> models = initial == null ? List.of(trained) : List.of(initial, trained);
        for (Map.Entry<String, ForgettingSpec.Corpus> corpus : spec.corpora().entrySet()) {
            String data = files.qualify(substitute.apply(corpus.getValue().path(),
                    "forgetting, corpus '" + corpus.getKey() + "'"));
            Path target = new Path(new Path(dir, "forgetting"), corpus.getKey());
            List<String> argv = new ArrayList<>(List.of("perplexity", "--data", data, "--format",
                    corpus.getValue().format(), "--seq-len", Integer.toString(spec.seqLen()), "--output",
                    target.toString()));
            argv.addAll(models);
            String key = Fingerprints.sha256(String.join("\n", argv) + "\n" + record.fingerprint() + "\n"
                    + Fingerprints.of(files, data) + "\n" + (initial == null ? "" : Fingerprints.of(files, initial)));
            boolean kept = isCurrent(target, key);
            if (!kept) {
                int code = run(stage, corpus.getKey(), target, argv, key);
                if (code != 0) {
                    out.putObject(corpus.getKey()).put("exit_code", code);
                    return code;
                }
            }
            List<Double> losses = losses(target);
            report(stage, corpus.getKey(), out.putObject(corpus.getKey()), trained, losses.get(losses.size() - 1),
                    initial, initial == null ? Double.NaN : losses.get(0), kept);
        }
        return 0;
    }

    private boolean isCurrent(Path target, String key) {
        Path keyFile = new Path(target, "_KEY");
        return files.exists(keyFile) && key.equals(new String(files.readBytes(keyFile), StandardCharsets.UTF_8));
    }

    /** One measurement, from a clean directory; its key is written only once it succeeded. */
    private int run(String stage, String corpus, Path target, List<String> argv, String key) {
        try {
            files.fs(target).delete(target, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear " + target, e);
        }
        LOG.info("Stage {}: forgetting on {}: running: whetstone {}", stage, corpus, String.join(" ", argv));
        int code = executor.execute(argv).exitCode();
        if (code != 0) {
            System.out.println("stage " + stage + ": its loss on corpus '" + corpus + "' could not be measured (exit "
                    + "code " + code + ")");
            return code;
        }
        files.writeBytes(new Path(target, "_KEY"), key.getBytes(StandardCharsets.UTF_8));
        return 0;
    }

    /** The losses in {@code perplexity}'s results file, in the order of its models. */
    private List<Double> losses(Path target) {
        List<Double> losses = new ArrayList<>();
        for (String text : new String(files.readBytes(new Path(target, "results.jsonl")), StandardCharsets.UTF_8)
                .split("\n")) {
            if (!text.isBlank()) {
                try {
                    losses.add(StageRecord.JSON.readTree(text).path("loss").asDouble());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return losses;
    }

    private static void report(String stage, String corpus, ObjectNode result, String trained, double after,
                               String initial, double before, boolean kept) {
        result.put("model", trained).put("loss", after);
        String change = "";
        if (initial != null) {
            result.put("initial_model", initial).put("initial_loss", before);
            change = String.format(Locale.ROOT, " (%.4f before, %+.1f%%)", before, 100 * (after - before) / before);
        }
        System.out.println(String.format(Locale.ROOT, "stage %s: loss on %s %.4f%s%s", stage, corpus, after, change,
                kept ? ", measured before" : ""));
    }

    /** The model a stage started from ({@code model.init} of its resolved config), or null (from scratch). */
    private String initialModel(String dir) {
        Path resolved = new Path(dir, "config.resolved.yaml");
        if (!files.exists(resolved)) {
            return null;
        }
        try {
            String init = YAML.readTree(files.readBytes(resolved)).path("model").path("init").asText("");
            return init.isBlank() || init.equals("scratch") ? null : init;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resolved, e);
        }
    }
}
