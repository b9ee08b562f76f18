package io.whetstone.datasets.tokenize;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * A tokenizer's identity from what it does, not the file it came from: its vocabulary size, its special ids
 * (including the chat markers, which {@code tokenizer.special_tokens} may map) and
 * the ids it gives a fixed set of probe texts (ASCII, digits, whitespace runs, accents, CJK, emoji, code, chat
 * markers as plain text), at the start of a sequence and continuing one. A GGUF file's SentencePiece vocabulary
 * and the tokenizer.json converted from it are one tokenizer and get one identity; tokenizers that differ in
 * any rule a probe touches get different ones.
 */
public final class TokenizerIdentity {

    public static final List<String> PROBES = List.of(
            "Hello, world!", " leading space", "two  spaces and   three", "tabs\tand\nnew\n\nlines\n",
            "12345 67.89 -0.5e10 1,000,000", "naïve café résumé Ångström", "日本語のテキストと中文", "emoji 🙂👍🏽 ∑∫√",
            "CamelCaseWords snake_case_words kebab-case", "<|im_start|>user\nhi<|im_end|> [INST] </s> <s>",
            "Question: Tom has 7 apples and buys 8 more. How many?\nAnswer: 7 + 8 = 15\n#### 15",
            "def f(x):\n    return x ** 2  # square\n", "   ", "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "Once upon a time, there was a little girl named Lily.", "\u00a0non-breaking\u200bzero-width",
            "ALL CAPS SHOUTING!!!", "x", "\n");

    private TokenizerIdentity() {
    }

    /** {@code prefix} + the first 16 hex digits of the behavioural digest of {@code tokenizer}. */
    public static String of(String prefix, Tokenizer tokenizer) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            update(sha, "vocab " + tokenizer.vocabSize());
            for (String name : List.of("<|bos|>", "<|eos|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>",
                    "<|end|>")) {
                int id;
                try {
                    id = tokenizer.specialId(name);
                } catch (RuntimeException missing) {
                    id = -1;
                }
                update(sha, name + "=" + id);
            }
            for (String probe : PROBES) {
                update(sha, java.util.Arrays.toString(tokenizer.encode(probe)));
                update(sha, java.util.Arrays.toString(tokenizer.encodeContinuation(probe)));
            }
            return prefix + HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(MessageDigest sha, String text) {
        sha.update(text.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }
}
