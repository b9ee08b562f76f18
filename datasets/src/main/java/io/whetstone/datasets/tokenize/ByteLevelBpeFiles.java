package io.whetstone.datasets.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A GPT-2-style checkpoint's slow-tokenizer files ({@code vocab.json} and {@code merges.txt}, optionally
 * {@code added_tokens.json} and {@code tokenizer_config.json}) as the {@code tokenizer.json} that
 * transformers' {@code GPT2Converter} makes of them: a byte-level BPE with GPT-2's pre-tokenizer, so DJL's
 * binding of the Rust library runs it as transformers' fast tokenizer would. Checkpoints of GPT-2 fine-tunes
 * and of models trained with their own byte-level BPE often ship only these files; assuming GPT-2's own
 * vocabulary for them would tokenize every other vocabulary wrongly and silently.
 *
 * <p>Written here because neither DJL nor jtokkit builds a tokenizer from these files; the conversion is a
 * fixed mapping of their fields into tokenizer.json's.
 */
public final class ByteLevelBpeFiles {

    /** GPT2Tokenizer's default bos, eos and unk token. */
    static final String END_OF_TEXT = "<|endoftext|>";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The converted tokenizer.json and the tokenizer_config.json to use with it (GPT-2's defaults filled in). */
    public record Converted(byte[] tokenizerJson, byte[] tokenizerConfig) {
    }

    private ByteLevelBpeFiles() {
    }

    /**
     * Converts the files; {@code source} names the directory in errors. {@code addedTokens} (added_tokens.json) and
     * {@code tokenizerConfig} may be null.
     *
     * @throws IllegalArgumentException naming the file, line or entry that is malformed
     */
    public static Converted convert(String source, byte[] vocab, byte[] merges, byte[] addedTokens,
                                    byte[] tokenizerConfig) {
        Map<String, Integer> vocabulary = vocabulary(source + "/vocab.json", vocab);
        List<String> mergeList = merges(source + "/merges.txt", merges, vocabulary);
        ObjectNode config = tokenizerConfig == null ? JSON.createObjectNode()
                : object(source + "/tokenizer_config.json", tokenizerConfig);
        TreeMap<Integer, ObjectNode> added = addedTokens(source, config, addedTokens, vocabulary);

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode addedArray = root.putArray("added_tokens");
        added.values().forEach(addedArray::add);
        root.putNull("normalizer");
        boolean prefixSpace = config.path("add_prefix_space").asBoolean(false);
        root.set("pre_tokenizer", byteLevel(prefixSpace, true));
        root.set("post_processor", byteLevel(true, false));
        root.set("decoder", byteLevel(true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocabNode = model.putObject("vocab");
        vocabulary.forEach(vocabNode::put);
        ArrayNode mergeNode = model.putArray("merges");
        mergeList.forEach(mergeNode::add);
        try {
            return new Converted(JSON.writeValueAsBytes(root), JSON.writeValueAsBytes(config));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        ObjectNode node = JSON.createObjectNode();
        node.put("type", "ByteLevel");
        node.put("add_prefix_space", addPrefixSpace);
        node.put("trim_offsets", trimOffsets);
        node.put("use_regex", true);
        return node;
    }

    private static ObjectNode object(String file, byte[] bytes) {
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new IllegalArgumentException(file + ": expected a JSON object");
            }
            return (ObjectNode) node;
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    /** vocab.json: token to id, every id a non-negative integer. */
    private static Map<String, Integer> vocabulary(String file, byte[] bytes) {
        ObjectNode node = object(file, bytes);
        Map<String, Integer> vocabulary = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> entry = fields.next();
            if (!entry.getValue().canConvertToInt() || !entry.getValue().isIntegralNumber()
                    || entry.getValue().asInt() < 0) {
                throw new IllegalArgumentException(file + ": token '" + entry.getKey() + "': id must be a "
                        + "non-negative integer, got " + entry.getValue());
            }
            vocabulary.put(entry.getKey(), entry.getValue().asInt());
        }
        if (vocabulary.isEmpty()) {
            throw new IllegalArgumentException(file + ": the vocabulary is empty");
        }
        return vocabulary;
    }

    /**
     * merges.txt: a {@code #version} line, then one merge per line, two tokens separated by a space, as
     * transformers' GPT2Tokenizer reads it (blank lines ignored); both halves and their join must be tokens.
     */
    private static List<String> merges(String file, byte[] bytes, Map<String, Integer> vocabulary) {
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
        List<String> merges = new ArrayList<>();
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) {
                continue;
            }
            String[] parts = line.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": a merge is two tokens separated by "
                        + "one space, got '" + line + "'");
            }
            for (String token : new String[] {parts[0], parts[1], parts[0] + parts[1]}) {
                if (!vocabulary.containsKey(token)) {
                    throw new IllegalArgumentException(file + ":" + (i + 1) + ": '" + token
                            + "' is not in vocab.json");
                }
            }
            merges.add(line);
        }
        return merges;
    }

    /**
     * The added tokens: tokenizer_config.json's {@code added_tokens_decoder} (transformers 4.34 and later) or
     * added_tokens.json (older), plus the bos, eos, unk and pad tokens the config names (GPT2Tokenizer's default
     * {@code <|endoftext|>} for the first three when the vocabulary has it), which are special. The config gets
     * those defaults written in, so the tokenizer knows its end-of-text token.
     */
    private static TreeMap<Integer, ObjectNode> addedTokens(String source, ObjectNode config, byte[] addedTokensJson,
                                                           Map<String, Integer> vocabulary) {
        TreeMap<Integer, ObjectNode> added = new TreeMap<>();
        JsonNode decoder = config.path("added_tokens_decoder");
        decoder.fields().forEachRemaining(entry -> {
            int id;
            try {
                id = Integer.parseInt(entry.getKey());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(source + "/tokenizer_config.json: added_tokens_decoder: '"
                        + entry.getKey() + "' is not a token id");
            }
            JsonNode token = entry.getValue();
            added.put(id, token(id, token.path("content").asText(), token.path("special").asBoolean(false),
                    token.path("lstrip").asBoolean(false), token.path("rstrip").asBoolean(false),
                    token.path("normalized").asBoolean(false), token.path("single_word").asBoolean(false)));
        });
        if (addedTokensJson != null) {
            object(source + "/added_tokens.json", addedTokensJson).fields().forEachRemaining(entry -> {
                if (!entry.getValue().isIntegralNumber()) {
                    throw new IllegalArgumentException(source + "/added_tokens.json: token '" + entry.getKey()
                            + "': id must be an integer, got " + entry.getValue());
                }
                int id = entry.getValue().asInt();
                added.putIfAbsent(id, token(id, entry.getKey(), false, false, false, true, false));
            });
        }
        for (String key : new String[] {"bos_token", "eos_token", "unk_token", "pad_token"}) {
            JsonNode value = config.path(key);
            String named = value.isTextual() ? value.asText() : value.path("content").asText(null);
            if (named == null && !key.equals("pad_token") && vocabulary.containsKey(END_OF_TEXT)
                    && value.isMissingNode()) {
                named = END_OF_TEXT;
                config.put(key, named);
            }
            if (named == null) {
                continue;
            }
            String content = named;
            Integer id = vocabulary.get(content);
            if (id == null) {
                id = added.values().stream().filter(t -> t.path("content").asText().equals(content))
                        .map(t -> t.path("id").asInt()).findFirst().orElse(null);
            }
            if (id == null) {
                throw new IllegalArgumentException(source + "/tokenizer_config.json: " + key + " '" + content
                        + "' is neither in vocab.json nor an added token");
            }
            ObjectNode existing = added.get(id);
            if (existing == null) {
                added.put(id, token(id, content, true, false, false, true, false));
            } else {
                existing.put("special", true);
            }
        }
        return added;
    }

    private static ObjectNode token(int id, String content, boolean special, boolean lstrip, boolean rstrip,
                                    boolean normalized, boolean singleWord) {
        ObjectNode node = JSON.createObjectNode();
        node.put("id", id);
        node.put("content", content);
        node.put("single_word", singleWord);
        node.put("lstrip", lstrip);
        node.put("rstrip", rstrip);
        node.put("normalized", normalized);
        node.put("special", special);
        return node;
    }
}
