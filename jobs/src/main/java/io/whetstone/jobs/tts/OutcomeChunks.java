package io.whetstone.jobs.tts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;

/**
 * A tts run's finished chunks: each chunk's outcomes as JSON lines, written atomically under a directory keyed
 * by the run's settings and the policy's weights, so a rerun keeps what a killed run finished and a changed
 * config or model starts afresh.
 */
final class OutcomeChunks {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HadoopFiles files;
    private final Path dir;

    OutcomeChunks(HadoopFiles files, Path dir) {
        this.files = files;
        this.dir = dir;
    }

    private Path path(int chunk) {
        return new Path(dir, String.format("chunk-%06d.jsonl", chunk));
    }

    /** The outcomes of {@code chunk} if a run finished it. */
    Optional<List<Outcome>> finished(int chunk) {
        Path path = path(chunk);
        if (!files.exists(path)) {
            return Optional.empty();
        }
        List<Outcome> out = new ArrayList<>();
        for (String line : new String(files.readBytes(path), StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                out.add(decode(line));
            }
        }
        return Optional.of(out);
    }

    /** Keeps {@code outcomes} as chunk {@code chunk}'s (atomically: a killed write leaves no chunk). */
    void write(int chunk, List<Outcome> outcomes) {
        StringBuilder text = new StringBuilder();
        for (Outcome outcome : outcomes) {
            text.append(encode(outcome)).append('\n');
        }
        files.writeBytes(path(chunk), text.toString().getBytes(StandardCharsets.UTF_8));
    }

    static String encode(Outcome o) {
        ObjectNode node = JSON.createObjectNode();
        node.put("index", o.index());
        node.put("id", o.id());
        node.put("strategy", o.strategy());
        node.put("budget", o.budget());
        node.put("candidates", o.candidates());
        node.put("tokens", o.tokens());
        if (o.answer() == null) {
            node.putNull("answer");
        } else {
            node.put("answer", o.answer());
        }
        ObjectNode votes = node.putObject("votes");
        o.votes().forEach(votes::put);
        if (Double.isNaN(o.score())) {
            node.putNull("score");
        } else {
            node.put("score", o.score());
        }
        if (o.correct() == null) {
            node.putNull("correct");
        } else {
            node.put("correct", o.correct());
        }
        return node.toString();
    }

    static Outcome decode(String line) {
        try {
            JsonNode node = JSON.readTree(line);
            Map<String, Double> votes = new LinkedHashMap<>();
            node.get("votes").fields().forEachRemaining(entry -> votes.put(entry.getKey(), entry.getValue().asDouble()));
            return new Outcome(node.get("index").asLong(), node.get("id").asText(), node.get("strategy").asText(),
                    node.get("budget").asInt(), node.get("candidates").asInt(), node.get("tokens").asLong(),
                    node.get("answer").isNull() ? null : node.get("answer").asText(), votes,
                    node.get("score").isNull() ? Double.NaN : node.get("score").asDouble(),
                    node.get("correct").isNull() ? null : node.get("correct").asBoolean());
        } catch (IOException e) {
            throw new UncheckedIOException("a corrupt tts chunk line: " + line, e);
        }
    }
}
