package io.whetstone.datasets.tokenize;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer that needs no files, for models trained from scratch: ids 0-255 are the UTF-8 bytes
 * of the text; 256-262 are special tokens ({@code <|bos|>}, {@code <|eos|>}, {@code <|pad|>},
 * {@code <|system|>}, {@code <|user|>}, {@code <|assistant|>}, {@code <|end|>}). Saved as a Hugging Face
 * {@code tokenizer.json} (byte-level BPE with no merges), which the {@code tokenizers} library loads
 * to the same ids.
 */
public final class ByteTokenizer implements Tokenizer {

    private static final long serialVersionUID = 1L;

    /** Special tokens in id order, starting at 256. */
    public static final List<String> SPECIALS = List.of("<|bos|>", "<|eos|>", "<|pad|>", "<|system|>", "<|user|>",
            "<|assistant|>", "<|end|>");

    @Override
    public String id() {
        return "byte-v1";
    }

    @Override
    public int vocabSize() {
        return 256 + SPECIALS.size();
    }

    @Override
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length);
        for (int id : ids) {
            if (id >= 0 && id < 256) {
                bytes.write(id);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int specialId(String name) {
        int index = SPECIALS.indexOf(name);
        if (index < 0) {
            throw new IllegalArgumentException("the byte tokenizer has no special token " + name + " (it has "
                    + SPECIALS + ")");
        }
        return 256 + index;
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= 256 && id < vocabSize();
    }

    @Override
    public Map<String, byte[]> files() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIALS.size(); i++) {
            ObjectNode token = added.addObject();
            token.put("id", 256 + i);
            token.put("content", SPECIALS.get(i));
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", false);
        pre.put("use_regex", false);
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", false);
        decoder.put("trim_offsets", false);
        decoder.put("use_regex", false);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        String[] symbols = ByteLevel.symbols();
        for (int b = 0; b < 256; b++) {
            vocab.put(symbols[b], b);
        }
        model.putArray("merges");
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            files.put("tokenizer.json", json.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
            ObjectNode config = json.createObjectNode();
            config.put("whetstone_tokenizer", "byte");
            config.put("bos_token", "<|bos|>");
            config.put("eos_token", "<|eos|>");
            config.put("pad_token", "<|pad|>");
            config.put("model_max_length", 1 << 20);
            files.put("tokenizer_config.json", json.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write tokenizer files", e);
        }
        return files;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ByteTokenizer;
    }

    @Override
    public int hashCode() {
        return id().hashCode();
    }
}
