package io.whetstone.datasets.tokenize;

import java.io.Serializable;
import java.util.Map;

/**
 * Text to token ids and back. Serializable so that it ships to Spark executors; implementations
 * rebuild native state lazily. Special tokens are addressed by whetstone's names ({@code <|bos|>},
 * {@code <|eos|>}, {@code <|pad|>} and the chat markers) and mapped to the tokenizer's own tokens.
 */
public interface Tokenizer extends Serializable {

    /**
     * A stable identity for cache keys and same-tokenizer checks, e.g. {@code byte-v1}, or {@code tok:<digest>} of
     * what a vocabulary tokenizer does ({@link TokenizerIdentity}), whichever file it was read from.
     */
    String id();

    /** Number of token ids (the model's vocabulary size must be at least this). */
    int vocabSize();

    /** Ids of plain text at the start of a sequence; never produces special tokens from the text. */
    int[] encode(String text);

    /**
     * Ids of plain text that continues a sequence. The same as {@link #encode} except for tokenizers that
     * treat the start of a text specially (SentencePiece prepends a space there).
     */
    default int[] encodeContinuation(String text) {
        return encode(text);
    }

    /** Text of the ids; special tokens are skipped. */
    String decode(int[] ids);

    /** The id of the special token {@code name}; throws naming the token if this tokenizer lacks it. */
    int specialId(String name);

    /** Whether this tokenizer has a token for the special name {@code name}. */
    default boolean hasSpecial(String name) {
        try {
            specialId(name);
            return true;
        } catch (IllegalArgumentException missing) {
            return false;
        }
    }

    /** Whether {@code id} is a special (control) token. */
    boolean isSpecial(int id);

    /** Files that reproduce this tokenizer, by file name (saved into checkpoints). */
    Map<String, byte[]> files();

    /**
     * This tokenizer with whetstone's special names (e.g. {@code <|user|>}) mapped to tokens of its vocabulary
     * ({@code tokenizer.special_tokens}), kept in the files it writes; fails naming a token the vocabulary lacks.
     * Tokenizers without a vocabulary to map into refuse a non-empty map.
     */
    default Tokenizer withSpecialTokens(Map<String, String> names) {
        if (names.isEmpty()) {
            return this;
        }
        throw new IllegalArgumentException("tokenizer.special_tokens: tokenizer " + id() + " cannot map special "
                + "tokens (it has its own: " + names.keySet() + " are not needed or not supported)");
    }

    /** The Jinja chat template this tokenizer carries ({@code tokenizer_config.json}'s chat_template), if any. */
    default java.util.Optional<String> chatTemplate() {
        return java.util.Optional.empty();
    }

    /**
     * This tokenizer carrying {@code template} as its chat template, kept in the files it writes (so an exported
     * checkpoint has the template it was trained with). Tokenizers without a config file refuse.
     */
    default Tokenizer withChatTemplate(String template) {
        throw new IllegalArgumentException("tokenizer " + id() + " has no tokenizer_config.json to carry a chat "
                + "template; use a Hugging Face or SentencePiece tokenizer, or tokenizer.chat_template: whetstone");
    }

    /** The special tokens a chat template reads ({@code bos_token}, {@code eos_token}, ...), by variable name. */
    default Map<String, String> templateVariables() {
        return Map.of();
    }

    /** The text of token {@code id} as written in a chat template, where the tokenizer knows it. */
    default java.util.Optional<String> tokenText(int id) {
        return java.util.Optional.empty();
    }

    /** The strings this tokenizer maps to special ids; a rendered chat template is cut at them. */
    default java.util.Set<String> specialTokenTexts() {
        return java.util.Set.of();
    }

    default int bosId() {
        return specialId("<|bos|>");
    }

    default int eosId() {
        return specialId("<|eos|>");
    }

    default int padId() {
        return specialId("<|pad|>");
    }
}
