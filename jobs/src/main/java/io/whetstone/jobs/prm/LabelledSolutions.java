package io.whetstone.jobs.prm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A labelled solution as one JSON line of prm-data's chunk files and back, exactly (a soft label never reached,
 * NaN, is written as null; doubles round-trip through their shortest decimal form).
 */
final class LabelledSolutions {

    private static final ObjectMapper JSON = new ObjectMapper();

    private LabelledSolutions() {
    }

    static String toJson(LabelledSolution solution) {
        ObjectNode line = JSON.createObjectNode();
        line.put("index", solution.index());
        line.put("id", solution.id());
        line.put("sample", solution.sample());
        line.put("prompt", solution.prompt());
        ArrayNode steps = line.putArray("steps");
        solution.steps().forEach(steps::add);
        ArrayNode soft = line.putArray("soft");
        for (double value : solution.soft()) {
            if (Double.isNaN(value)) {
                soft.addNull();
            } else {
                soft.add(value);
            }
        }
        if (solution.trueLabels() != null) {
            ArrayNode truth = line.putArray("true");
            for (boolean label : solution.trueLabels()) {
                truth.add(label);
            }
        }
        line.put("correct", solution.correct());
        return line.toString();
    }

    static LabelledSolution fromJson(String text) {
        try {
            JsonNode node = JSON.readTree(text);
            List<String> steps = new ArrayList<>();
            node.get("steps").forEach(step -> steps.add(step.asText()));
            double[] soft = new double[node.get("soft").size()];
            for (int k = 0; k < soft.length; k++) {
                JsonNode value = node.get("soft").get(k);
                soft[k] = value.isNull() ? Double.NaN : value.asDouble();
            }
            boolean[] truth = null;
            if (node.has("true")) {
                truth = new boolean[node.get("true").size()];
                for (int k = 0; k < truth.length; k++) {
                    truth[k] = node.get("true").get(k).asBoolean();
                }
            }
            return new LabelledSolution(node.get("index").asLong(), node.get("id").asText(),
                    node.get("sample").asInt(), node.get("prompt").asText(), steps, soft, truth,
                    node.get("correct").asBoolean());
        } catch (IOException e) {
            throw new UncheckedIOException("corrupt prm-data chunk line: " + text, e);
        }
    }
}
