package io.whetstone.datasets.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.HashSet;
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
    /** tokenizer_config.json's key for tokenizer.special_tokens, so a checkpoint keeps the mapping it trained with. */
    static final String MAPPED_KEY = "whetstone_special_tokens";

    private final byte[] tokenizerJson;
    private final byte[] tokenizerConfig;
    private final Map<String, Integer> tokenIds;
    private final Set<Integer> specialIds;
    private final Map<String, String> aliases;
    /** The aliases given explicitly (tokenizer.special_tokens), kept in tokenizer_config.json by {@link #files}. */
    private final Map<String, String> explicit;
    private final int vocabSize;
    private String id; // computed on first use (TokenizerIdentity encodes probes)
    private transient HuggingFaceTokenizer delegate;
    /** tokenizer.json without its start-of-text space (null: the same as tokenizer.json), see encodeContinuation. */
    private final byte[] continuationJson;
    private transient HuggingFaceTokenizer continuationDelegate;

    private HfTokenizer(byte[] tokenizerJson, byte[] tokenizerConfig, Map<String, String> aliases) {
        this.tokenizerJson = tokenizerJson.clone();
        this.tokenizerConfig = tokenizerConfig == null ? null : tokenizerConfig.clone();
        this.continuationJson = withoutPrefixSpace(tokenizerJson);
        this.tokenIds = new HashMap<>();
        this.specialIds = new HashSet<>();
        this.aliases = new LinkedHashMap<>();
        this.explicit = new LinkedHashMap<>(aliases);
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
        if (tokenizerConfig != null) {
            try {
                JSON.readTree(tokenizerConfig).path(MAPPED_KEY).fields().forEachRemaining(entry -> {
                    this.aliases.putIfAbsent(entry.getKey(), entry.getValue().asText());
                    this.explicit.putIfAbsent(entry.getKey(), entry.getValue().asText());
                });
            } catch (IOException e) {
                throw new IllegalArgumentException("tokenizer_config.json is not valid JSON: " + e.getMessage(), e);
            }
        }
        for (Map.Entry<String, String> alias : aliases.entrySet()) {
            if (!tokenIds.containsKey(alias.getValue())) {
                throw new IllegalArgumentException("tokenizer.special_tokens: " + alias.getKey() + " is mapped to '"
                        + alias.getValue() + "', which is not a token of this tokenizer");
            }
        }
        if (!this.aliases.containsKey("<|pad|>") && this.aliases.containsKey("<|eos|>")) {
            this.aliases.put("<|pad|>", this.aliases.get("<|eos|>"));
        }
    }

    /**
     * A tokenizer from the bytes of {@code tokenizer.json}, optionally {@code tokenizer_config.json}
     * (may be null), and explicit special-token aliases (whetstone name to the file's token text).
     */
    public static HfTokenizer of(byte[] tokenizerJson, byte[] tokenizerConfig, Map<String, String> aliases) {
        return new HfTokenizer(tokenizerJson, tokenizerConfig, aliases);
    }


    private synchronized HuggingFaceTokenizer delegate() {
        if (delegate == null) {
            delegate = load(withoutSpecialMatching(tokenizerJson));
        }
        return delegate;
    }

    /**
     * tokenizer.json without its special added tokens, so that text is never split at a special token's string
     * ("</s>" in a user's text stays text): the Tokenizer contract, which transformers reaches with
     * split_special_tokens and DJL cannot be told. Whetstone places special tokens by id.
     */
    static byte[] withoutSpecialMatching(byte[] tokenizerJson) {
        try {
            JsonNode root = JSON.readTree(tokenizerJson);
            JsonNode added = root.path("added_tokens");
            if (!added.isArray()) {
                return tokenizerJson;
            }
            var kept = JSON.createArrayNode();
            for (JsonNode token : added) {
                if (!token.path("special").asBoolean(false)) {
                    kept.add(token);
                }
            }
            if (kept.size() == added.size()) {
                return tokenizerJson;
            }
            ((com.fasterxml.jackson.databind.node.ObjectNode) root).set("added_tokens", kept);
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            return tokenizerJson; // invalid JSON is reported by the constructor
        }
    }

    private synchronized HuggingFaceTokenizer continuationDelegate() {
        if (continuationDelegate == null) {
            continuationDelegate = load(withoutSpecialMatching(continuationJson));
        }
        return continuationDelegate;
    }

    private static HuggingFaceTokenizer load(byte[] json) {
        try {
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json),
                    // DJL truncates to 512 tokens and may pad unless told not to; length limits are ours.
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false",
                            "maxLength", Integer.toString(Integer.MAX_VALUE / 2)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load tokenizer.json", e);
        }
    }

    /**
     * SentencePiece-style tokenizer.json files put a space (U+2581) before the text: a {@code Prepend} normalizer
     * (Llama 2, converted GGUF vocabularies) or a {@code Metaspace} pre-tokenizer that prepends. That is right at
     * the start of a sequence and wrong for a piece that continues one (a completion after its prompt, a turn after
     * a marker), so continuations use a copy without it, as SentencePiece itself does. Null when there is none.
     */
    static byte[] withoutPrefixSpace(byte[] tokenizerJson) {
        try {
            JsonNode root = JSON.readTree(tokenizerJson);
            boolean changed = dropPrepend(root, "normalizer") | dropMetaspacePrefix(root.path("pre_tokenizer"));
            return changed ? JSON.writeValueAsBytes(root) : null;
        } catch (IOException e) {
            return null; // invalid JSON is reported by the constructor
        }
    }

    private static boolean dropPrepend(JsonNode parent, String field) {
        JsonNode node = parent.path(field);
        if (node.path("type").asText().equals("Prepend") && node.path("prepend").asText().equals("\u2581")) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) parent).putNull(field);
            return true;
        }
        if (node.path("type").asText().equals("Sequence") && node.path("normalizers").isArray()) {
            var list = (com.fasterxml.jackson.databind.node.ArrayNode) node.get("normalizers");
            for (int i = 0; i < list.size(); i++) {
                JsonNode item = list.get(i);
                if (item.path("type").asText().equals("Prepend") && item.path("prepend").asText().equals("\u2581")) {
                    list.remove(i);
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean dropMetaspacePrefix(JsonNode node) {
        boolean changed = false;
        if (node.path("type").asText().equals("Metaspace")) {
            var object = (com.fasterxml.jackson.databind.node.ObjectNode) node;
            if (!node.path("prepend_scheme").asText("never").equals("never") || node.path("add_prefix_space")
                    .asBoolean(false)) {
                object.put("prepend_scheme", "never");
                if (node.has("add_prefix_space")) {
                    object.put("add_prefix_space", false);
                }
                changed = true;
            }
        }
        for (JsonNode child : node.path("pretokenizers")) {
            changed |= dropMetaspacePrefix(child);
        }
        return changed;
    }

    /** The behavioural identity ({@link TokenizerIdentity}): the same for this vocabulary from any file. */
    @Override
    public synchronized String id() {
        if (id == null) {
            id = TokenizerIdentity.of("tok:", this);
        }
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

    /** As {@link #encode}, without the start-of-text space SentencePiece-style files add (see withoutPrefixSpace). */
    @Override
    public int[] encodeContinuation(String text) {
        if (continuationJson == null) {
            return encode(text);
        }
        long[] ids = continuationDelegate().encode(text, false, false).getIds();
        int[] result = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            result[i] = (int) ids[i];
        }
        return result;
    }

    @Override
    public String decode(int[] ids) {
        // special ids are skipped here: the encoding delegate no longer knows which ids are special
        return delegate().decode(java.util.Arrays.stream(ids).filter(tokenId -> !specialIds.contains(tokenId))
                .mapToLong(tokenId -> tokenId).toArray(), true);
    }

    @Override
    public int specialId(String name) {
        String content = aliases.getOrDefault(name, name);
        Integer tokenId = tokenIds.get(content);
        if (tokenId == null) {
            // not id(): the identity itself asks for every special name
            throw new IllegalArgumentException("the tokenizer.json tokenizer (" + vocabSize + " ids) has no token for "
                    + name
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
        if (!explicit.isEmpty()) {
            try {
                ObjectNode config = tokenizerConfig == null ? JSON.createObjectNode()
                        : (ObjectNode) JSON.readTree(tokenizerConfig);
                ObjectNode mapped = config.putObject(MAPPED_KEY);
                new java.util.TreeMap<>(explicit).forEach(mapped::put);
                files.put("tokenizer_config.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
            } catch (IOException e) {
                throw new IllegalStateException("cannot write tokenizer_config.json", e);
            }
        } else if (tokenizerConfig != null) {
            files.put("tokenizer_config.json", tokenizerConfig.clone());
        }
        return files;
    }

    @Override
    public java.util.Optional<String> chatTemplate() {
        return java.util.Optional.ofNullable(chatTemplateOf(tokenizerConfig));
    }

    /** tokenizer_config.json's chat_template: a string, or a list of named templates of which "default" is used. */
    public static String chatTemplateOf(byte[] config) {
        if (config == null) {
            return null;
        }
        try {
            JsonNode template = JSON.readTree(config).path("chat_template");
            if (template.isTextual()) {
                return template.asText();
            }
            for (JsonNode named : template) {
                if (named.path("name").asText().equals("default")) {
                    return named.path("template").asText();
                }
            }
            return null;
        } catch (IOException e) {
            throw new IllegalArgumentException("tokenizer_config.json is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** {@code config} (may be null) with {@code template} as its chat_template. */
    public static byte[] configWithChatTemplate(byte[] config, String template) {
        try {
            ObjectNode node = config == null ? JSON.createObjectNode() : (ObjectNode) JSON.readTree(config);
            node.put("chat_template", template);
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalArgumentException("tokenizer_config.json is not valid JSON: " + e.getMessage(), e);
        }
    }

    @Override
    public Tokenizer withChatTemplate(String template) {
        return new HfTokenizer(tokenizerJson, configWithChatTemplate(tokenizerConfig, template), explicit);
    }

    @Override
    public Map<String, String> templateVariables() {
        Map<String, String> variables = new LinkedHashMap<>();
        if (tokenizerConfig == null) {
            return variables;
        }
        try {
            JsonNode config = JSON.readTree(tokenizerConfig);
            for (String key : new String[] {"bos_token", "eos_token", "unk_token", "pad_token"}) {
                JsonNode value = config.path(key);
                String content = value.isTextual() ? value.asText() : value.path("content").asText(null);
                if (content != null) {
                    variables.put(key, content);
                }
            }
            return variables;
        } catch (IOException e) {
            throw new IllegalArgumentException("tokenizer_config.json is not valid JSON: " + e.getMessage(), e);
        }
    }

    @Override
    public java.util.Optional<String> tokenText(int id) {
        return tokenIds.entrySet().stream().filter(entry -> entry.getValue() == id).map(Map.Entry::getKey).findFirst();
    }

    @Override
    public java.util.Set<String> specialTokenTexts() {
        java.util.Set<String> texts = new java.util.TreeSet<>();
        tokenIds.forEach((text, tokenId) -> {
            if (specialIds.contains(tokenId)) {
                texts.add(text);
            }
        });
        return texts;
    }

    @Override
    public Tokenizer withSpecialTokens(Map<String, String> mapping) {
        if (mapping.isEmpty()) {
            return this;
        }
        Map<String, String> merged = new LinkedHashMap<>(explicit);
        merged.putAll(mapping);
        return new HfTokenizer(tokenizerJson, tokenizerConfig, merged);
    }
}
