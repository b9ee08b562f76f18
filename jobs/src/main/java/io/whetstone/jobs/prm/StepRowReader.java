package io.whetstone.jobs.prm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.tokenize.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;

/**
 * Reads prm-data's {@code steps.jsonl} (any Hadoop path) into step rows on the executors: BOS, the prompt, then
 * each step, cut where the model's context ends (steps past it are dropped, not truncated). Malformed lines are
 * refused on the driver, before any training, naming file, line and field (the first five); steps without a
 * Monte-Carlo label (no room to roll out) are left out.
 */
public final class StepRowReader {

    private StepRowReader() {
    }

    /**
     * The rows of {@code path} labelled by the field {@code labels} ({@code soft_labels}, {@code hard_labels} or
     * {@code true_labels}), at most {@code maxLength} ids each.
     */
    public static JavaRDD<StepRow> read(JavaSparkContext context, String path, Tokenizer tokenizer, String labels,
                                        int maxLength, int partitions) {
        // parse on the executors, keeping each bad line's error; the driver refuses the file before any training
        JavaRDD<Tuple2<StepRow, String>> parsed = context.textFile(path, partitions).zipWithIndex()
                .mapPartitions(lines -> {
                    ObjectMapper json = new ObjectMapper()
                            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
                    List<Tuple2<StepRow, String>> out = new ArrayList<>();
                    while (lines.hasNext()) {
                        Tuple2<String, Long> line = lines.next();
                        if (line._1().isBlank()) {
                            continue;
                        }
                        try {
                            StepRow row = parse(json, line._1(), path + ":" + (line._2() + 1), tokenizer, labels,
                                    maxLength);
                            if (row.ends().length > 0) {
                                out.add(new Tuple2<>(row, null));
                            }
                        } catch (IllegalArgumentException e) {
                            out.add(new Tuple2<>(null, e.getMessage()));
                        }
                    }
                    return out.iterator();
                }).persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        JavaRDD<String> errors = parsed.filter(pair -> pair._2() != null).map(Tuple2::_2);
        long bad = errors.count();
        if (bad > 0) {
            List<String> first = errors.take(5);
            parsed.unpersist(false);
            throw new IllegalArgumentException(bad + " invalid step records in " + path + ":\n  "
                    + String.join("\n  ", first) + (bad > first.size() ? "\n  ... and " + (bad - first.size())
                    + " more" : ""));
        }
        // Dealt evenly by position, in file order within each partition: the file's byte splits hold unequal numbers
        // of solutions with a labelled step (those without one are dropped above), and a partition left empty
        // could not train. The same file gives the same partitions, on a retried task too.
        return parsed.map(Tuple2::_1).zipWithIndex().mapToPair(row -> new Tuple2<>(row._2(), row._1()))
                .repartitionAndSortWithinPartitions(new org.apache.spark.HashPartitioner(partitions)).values();
    }

    static StepRow parse(ObjectMapper json, String text, String where, Tokenizer tokenizer, String field,
                         int maxLength) {
        JsonNode record;
        try {
            record = json.readTree(text);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(where + ": not a JSON object (or text after it): "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException p ? p.getOriginalMessage()
                    : e.getMessage()));
        }
        if (record == null || !record.isObject()) {
            throw new IllegalArgumentException(where + ": expected a JSON object");
        }
        JsonNode prompt = record.get("prompt");
        JsonNode steps = record.get("steps");
        JsonNode labels = record.get(field);
        if (prompt == null || !prompt.isTextual() || steps == null || !steps.isArray() || labels == null
                || !labels.isArray() || labels.size() != steps.size()) {
            throw new IllegalArgumentException(where + ": a step record needs a string prompt, a steps array and a "
                    + field + " array of the same length (prm-data's output)");
        }
        List<String> texts = new ArrayList<>();
        double[] values = new double[steps.size()];
        for (int k = 0; k < steps.size(); k++) {
            texts.add(steps.get(k).asText());
            JsonNode label = labels.get(k);
            values[k] = label.isNull() ? Double.NaN : label.isBoolean() ? (label.asBoolean() ? 1 : 0) : label.asDouble();
            if (!label.isNull() && !(values[k] >= 0 && values[k] <= 1)) {
                throw new IllegalArgumentException(where + ": step " + k + " has label " + label + ", outside [0, 1]");
            }
        }
        return build(tokenizer, prompt.asText(), texts, values, maxLength);
    }

    /**
     * BOS, the prompt and {@code steps} as a step row; steps past {@code maxLength} ids are dropped, and so are
     * the ends of steps whose label is NaN (empty steps add no end).
     */
    public static StepRow build(Tokenizer tokenizer, String prompt, List<String> steps, double[] labels,
                                int maxLength) {
        List<Integer> ids = new ArrayList<>();
        ids.add(tokenizer.bosId());
        for (int id : tokenizer.encode(prompt)) {
            ids.add(id);
        }
        List<Integer> ends = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (int k = 0; k < steps.size(); k++) {
            int[] step = tokenizer.encode(steps.get(k));
            if (step.length == 0) {
                continue;
            }
            if (ids.size() + step.length > maxLength) {
                break;
            }
            for (int id : step) {
                ids.add(id);
            }
            if (!Double.isNaN(labels[k])) {
                ends.add(ids.size() - 1);
                values.add(labels[k]);
            }
        }
        return new StepRow(ids.stream().mapToInt(Integer::intValue).toArray(),
                ends.stream().mapToInt(Integer::intValue).toArray(),
                values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
