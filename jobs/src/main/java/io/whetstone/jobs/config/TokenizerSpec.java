package io.whetstone.jobs.config;

import java.util.Map;
import java.util.Set;

/**
 * The tokenizer: {@code auto} (byte-level for a model from scratch, the model's own for a pretrained
 * one or a resumed run), {@code byte} (no files), {@code hf} (a directory or file with a Hugging Face
 * {@code tokenizer.json}, optional {@code tokenizer_config.json}; or a directory with transformers' slow-tokenizer
 * files {@code vocab.json} and {@code merges.txt}, a byte-level BPE), or {@code r50k_base} (GPT-2's BPE).
 * {@code specialTokens} maps whetstone's names ({@code <|bos|>}, {@code <|eos|>}, ...) to the tokenizer's own tokens.
 * {@code chatTemplate} lays out chats: {@code auto} (the tokenizer's own Jinja template if it has one, else
 * whetstone's markers), {@code model} (its own, required), {@code whetstone}, or the path of a Jinja file.
 */
public record TokenizerSpec(String type, String path, Map<String, String> specialTokens, String chatTemplate) {

    /** With {@code chat_template: auto}. */
    public TokenizerSpec(String type, String path, Map<String, String> specialTokens) {
        this(type, path, specialTokens, "auto");
    }

    public TokenizerSpec {
        chatTemplate = chatTemplate == null || chatTemplate.isBlank() ? "auto" : chatTemplate.trim();
        type = Checks.oneOf("tokenizer.type", type, Set.of("auto", "byte", "hf", "r50k_base"));
        Checks.require(!type.equals("hf") || (path != null && !path.isBlank()),
                "tokenizer.path must name a tokenizer.json (or its directory) when tokenizer.type is hf");
        specialTokens = specialTokens == null ? Map.of() : Map.copyOf(specialTokens);
    }
}
