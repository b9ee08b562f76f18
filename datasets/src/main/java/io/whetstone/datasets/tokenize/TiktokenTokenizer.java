package io.whetstone.datasets.tokenize;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPT-2's byte-level BPE ({@code r50k_base}, 50,257 ids) through jtokkit, for GPT-2 checkpoints that
 * ask for it. {@code <|endoftext|>} (50256) serves as BOS, EOS and padding, as in GPT-2.
 */
public final class TiktokenTokenizer implements Tokenizer {

    private static final long serialVersionUID = 1L;
    private static final int END_OF_TEXT = 50256;
    private transient Encoding encoding;

    private synchronized Encoding encoding() {
        if (encoding == null) {
            encoding = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        }
        return encoding;
    }

    @Override
    public String id() {
        return "tiktoken:r50k_base";
    }

    @Override
    public int vocabSize() {
        return END_OF_TEXT + 1;
    }

    @Override
    public int[] encode(String text) {
        return encoding().encodeOrdinary(text).toArray();
    }

    @Override
    public String decode(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int id : ids) {
            if (id >= 0 && id < END_OF_TEXT) {
                list.add(id);
            }
        }
        return encoding().decode(list);
    }

    @Override
    public int specialId(String name) {
        return switch (name) {
            case "<|bos|>", "<|eos|>", "<|pad|>", "<|endoftext|>" -> END_OF_TEXT;
            default -> throw new IllegalArgumentException("GPT-2's tokenizer has no special token " + name
                    + " (it has <|endoftext|>)");
        };
    }

    @Override
    public boolean isSpecial(int id) {
        return id == END_OF_TEXT;
    }

    @Override
    public Map<String, byte[]> files() {
        ObjectNode config = new ObjectMapper().createObjectNode();
        config.put("whetstone_tokenizer", "r50k_base");
        config.put("tokenizer_class", "GPT2Tokenizer");
        config.put("bos_token", "<|endoftext|>");
        config.put("eos_token", "<|endoftext|>");
        config.put("model_max_length", 1024);
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            files.put("tokenizer_config.json", new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return files;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TiktokenTokenizer;
    }

    @Override
    public int hashCode() {
        return id().hashCode();
    }
}
