package io.whetstone.datasets.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json}, run by DJL's binding of the Rust {@code tokenizers} library.
 * The file's bytes travel with the object; the native tokenizer is created lazily on each JVM.
 * Whetstone's special-token names map to the file's tokens: {@code <|bos|>}, {@code <|eos|>} and
 * {@code <|pad|>} from {@code tokenizer_config.json} (bos_token, eos_token, pad_token) unless given
 * explicitly; any other name must be given or be a token of the file.
 */
public final class HfTokenizer implements Tokenizer {

    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final byte[] tokenizerJson;
    private final byte[] tokenizerConfig;
    private final Map<String, Integer> tokenIds;
    private final Set<Integer> specialIds;
    private final Map<String, String> aliases;
    private final int vocabSize;
    private final String id;
    private transient HuggingFaceTokenizer delegate;

    private HfTokenizer(byte[] tokenizerJson, byte[] tokenizerConfig, Map<String, String> aliases) {
        this.tokenizerJson = tokenizerJson.clone();
        this.tokenizerConfig = tokenizerConfig == null ? null : tokenizerConfig.clone();
        this.tokenIds = new HashMap<>();
        this.specialIds = new HashSet<>();
        this.aliases = new LinkedHashMap<>();
        try {
            JsonNode root = JSON.readTree(tokenizerJson);
            JsonNode vocab = root.path("model").path("vocab");
            int max = -1;
            if (vocab.isObject()) {
                var fields = vocab.fields();
                while (fields.hasNext()) {
                    var entry = fields.next();
                    tokenIds.put(entry.getKey(), entry.getValue().asInt());
                    max = Math.max(max, entry.getValue().asInt());
                }
            }
            for (JsonNode token : root.path("added_tokens")) {
                int tokenId = token.path("id").asInt();
                tokenIds.put(token.path("content").asText(), tokenId);
                if (token.path("special").asBoolean(false)) {
                    specialIds.add(tokenId);
                }
                max = Math.max(max, tokenId);
            }
            if (max < 0) {
                throw new IllegalArgumentException("tokenizer.json has no vocabulary (model.vocab) or added tokens");
            }
            this.vocabSize = max + 1;
            if (tokenizerConfig != null) {
                JsonNode config = JSON.readTree(tokenizerConfig);
                for (String key : new String[] {"bos_token", "eos_token", "pad_token"}) {
                    JsonNode value = config.path(key);
                    String content = value.isTextual() ? value.asText() : value.path("content").asText(null);
                    if (content != null) {
                        this.aliases.put("<|" + key.substring(0, key.indexOf('_')) + "|>", content);
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("tokenizer.json is not valid JSON: " + e.getMessage(), e);
        }
        this.aliases.putAll(aliases);
        if (!this.aliases.containsKey("<|pad|>") && this.aliases.containsKey("<|eos|>")) {
            this.aliases.put("<|pad|>", this.aliases.get("<|eos|>"));
        }
        this.id = "hf:" + sha256(tokenizerJson).substring(0, 16);
    }

    /**
     * A tokenizer from the bytes of {@code tokenizer.json}, optionally {@code tokenizer_config.json}
     * (may be null), and explicit special-token aliases (whetstone name to the file's token text).
     */
    public static HfTokenizer of(byte[] tokenizerJson, byte[] tokenizerConfig, Map<String, String> aliases) {
        return new HfTokenizer(tokenizerJson, tokenizerConfig, aliases);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private synchronized HuggingFaceTokenizer delegate() {
        if (delegate == null) {
            try {
                delegate = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson),
                        // DJL truncates to 512 tokens and may pad unless told not to; length limits are ours.
                        Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false",
                                "maxLength", Integer.toString(Integer.MAX_VALUE / 2)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load tokenizer.json", e);
            }
        }
        return delegate;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int[] encode(String text) {
        Encoding encoding = delegate().encode(text, false, false);
        long[] ids = encoding.getIds();
        int[] result = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            result[i] = (int) ids[i];
        }
        return result;
    }

    @Override
    public String decode(int[] ids) {
        long[] values = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            values[i] = ids[i];
        }
        return delegate().decode(values, true);
    }

    @Override
    public int specialId(String name) {
        String content = aliases.getOrDefault(name, name);
        Integer tokenId = tokenIds.get(content);
        if (tokenId == null) {
            throw new IllegalArgumentException("tokenizer " + id + " has no token for " + name
                    + (content.equals(name) ? "" : " (mapped to '" + content + "')")
                    + "; map it with tokenizer.special_tokens in the job config");
        }
        return tokenId;
    }

    @Override
    public boolean isSpecial(int tokenId) {
        return specialIds.contains(tokenId);
    }

    @Override
    public Map<String, byte[]> files() {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("tokenizer.json", tokenizerJson.clone());
        if (tokenizerConfig != null) {
            files.put("tokenizer_config.json", tokenizerConfig.clone());
        }
        return files;
    }
}
