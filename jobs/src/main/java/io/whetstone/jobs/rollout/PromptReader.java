package io.whetstone.jobs.rollout;

import com.fasterxml.jackson.databind.JsonNode;
import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.records.Example;
import io.whetstone.datasets.records.Piece;
import io.whetstone.datasets.records.RecordError;
import io.whetstone.datasets.spark.CorpusReader;
import io.whetstone.datasets.spark.DataValidationException;
import io.whetstone.datasets.spark.RawRecord;
import io.whetstone.datasets.tokenize.TokenizedExample;
import io.whetstone.datasets.tokenize.Tokenizer;
import java.io.Serializable;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads RL prompts from any Hadoop path. A record has {@code question} (templated as in SFT; its
 * {@code answer}, if any, is the reference) or {@code prompt} (used as is; {@code reference} optional),
 * and optionally {@code id}. Every record is checked before any sampling: a bad one is an error naming
 * file, line and field (strict), or is counted and skipped with a warning (lenient).
 */
public final class PromptReader implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PromptReader.class);
    private static final Set<String> FIELDS = Set.of("id", "question", "answer", "prompt", "reference");
    private static final int SHOWN_ERRORS = 10;

    /** A parsed prompt or why it is not one. */
    record Parsed(PromptRecord prompt, RecordError error) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** Prompts spread over {@code partitions} by index, persisted (callers unpersist), and how many. */
    public record Partitioned(JavaRDD<PromptRecord> prompts, long count) {
    }

    /**
     * The prompts of {@code path}, validated as {@link #read} does, spread over {@code partitions} by index and
     * persisted; fails, naming the path, when it holds none.
     */
    public static Partitioned readPartitioned(SparkSession spark, String path, String container, boolean strict,
                                              Tokenizer tokenizer, int maxPromptTokens, int partitions) {
        return readPartitioned(spark, path, container, java.util.Map.of(), strict, tokenizer, maxPromptTokens,
                partitions);
    }

    /** {@link #readPartitioned} with fields read from the columns (or JSON keys) {@code columns} names. */
    public static Partitioned readPartitioned(SparkSession spark, String path, String container,
                                              java.util.Map<String, String> columns, boolean strict,
                                              Tokenizer tokenizer, int maxPromptTokens, int partitions) {
        JavaRDD<PromptRecord> parsed = read(spark, path, container, columns, strict, tokenizer, maxPromptTokens);
        JavaRDD<PromptRecord> prompts = parsed.mapToPair(p -> new scala.Tuple2<>(p.index(), p))
                .partitionBy(new org.apache.spark.HashPartitioner(partitions)).values()
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        long count = prompts.count();
        parsed.unpersist(false);
        if (count == 0) {
            prompts.unpersist(false);
            throw new IllegalArgumentException("data.path " + path + " holds no prompts");
        }
        return new Partitioned(prompts, count);
    }

    /** The prompts of {@code path}, validated; the RDD is cached (callers unpersist it). */
    public static JavaRDD<PromptRecord> read(SparkSession spark, String path, String container, boolean strict,
                                             Tokenizer tokenizer, int maxPromptTokens) {
        return read(spark, path, container, java.util.Map.of(), strict, tokenizer, maxPromptTokens);
    }

    /** {@link #read} with fields read from the columns (or JSON keys) {@code columns} names. */
    public static JavaRDD<PromptRecord> read(SparkSession spark, String path, String container,
                                             java.util.Map<String, String> columns, boolean strict,
                                             Tokenizer tokenizer, int maxPromptTokens) {
        JavaRDD<RawRecord> raw = CorpusReader.read(spark, path, container, FIELDS,
                new io.whetstone.datasets.spark.ColumnMap(columns));
        PromptReader reader = new PromptReader();
        JavaRDD<Parsed> parsed = raw.zipWithIndex().map(pair -> reader.parse(pair._1(), pair._2(), tokenizer,
                maxPromptTokens)).cache();
        JavaRDD<RecordError> errors = parsed.filter(p -> p.error() != null).map(Parsed::error);
        long rejected = errors.count();
        if (rejected > 0) {
            if (strict) {
                List<RecordError> shown = errors.takeOrdered(SHOWN_ERRORS, RecordError.BY_LOCATION);
                parsed.unpersist(false);
                throw new DataValidationException(path, shown, rejected);
            }
            LOG.warn("{} prompt records of {} were invalid and skipped (validation: lenient); first: {}", rejected, path,
                    errors.takeOrdered(1, RecordError.BY_LOCATION));
        }
        JavaRDD<PromptRecord> prompts = parsed.filter(p -> p.prompt() != null).map(Parsed::prompt).cache();
        prompts.count();
        parsed.unpersist(false);
        return prompts;
    }

    Parsed parse(RawRecord record, long index, Tokenizer tokenizer, int maxPromptTokens) {
        String source = record.source();
        long line = record.line();
        String raw = record.json();
        io.whetstone.datasets.records.JsonLine read = io.whetstone.datasets.records.JsonLine.read(source, line, raw);
        if (read.error() != null) {
            return new Parsed(null, read.error());
        }
        JsonNode node = read.node();
        var names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                return error(source, line, name, "unknown field (expected question/answer or prompt/reference, "
                        + "and optionally id)", raw);
            }
        }
        String text;
        String reference;
        if (node.has("question")) {
            if (node.has("prompt")) {
                return error(source, line, "prompt", "give either question or prompt, not both", raw);
            }
            String question = textField(node, "question");
            if (question == null || question.isBlank()) {
                return error(source, line, "question", "expected a non-empty string", raw);
            }
            text = new ChatTemplateSpec().questionPrompt(question);
            reference = node.has("answer") ? textField(node, "answer") : "";
            if (reference == null) {
                return error(source, line, "answer", "expected a string", raw);
            }
        } else if (node.has("prompt")) {
            text = textField(node, "prompt");
            if (text == null || text.isEmpty()) {
                return error(source, line, "prompt", "expected a non-empty string", raw);
            }
            reference = node.has("reference") ? textField(node, "reference") : "";
            if (reference == null) {
                return error(source, line, "reference", "expected a string", raw);
            }
        } else {
            return error(source, line, "-", "no question or prompt field", raw);
        }
        String id = source + ":" + line;
        if (node.has("id")) {
            JsonNode value = node.get("id");
            if (!value.isTextual() && !value.isNumber()) {
                return error(source, line, "id", "expected a string or a number", raw);
            }
            id = value.asText();
        }
        int[] ids = TokenizedExample.of(new Example(source, line, List.of(new Piece.Special("<|bos|>", false),
                new Piece.Text(text, false))), tokenizer).ids();
        if (ids.length > maxPromptTokens) {
            return error(source, line, node.has("question") ? "question" : "prompt", "prompt of " + ids.length
                    + " tokens exceeds the " + maxPromptTokens + " that max_seq_len leaves beside max_new_tokens", raw);
        }
        return new Parsed(new PromptRecord(index, id, text, ids, reference), null);
    }

    private static String textField(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value != null && value.isTextual() ? value.asText() : null;
    }

    private static Parsed error(String source, long line, String field, String reason, String raw) {
        return new Parsed(null, new RecordError(source, line, field, reason, raw));
    }
}
