package io.whetstone.datasets.records;

/**
 * One piece of a training example: text, or a special token named by the template (never parsed from
 * user text, so data cannot inject control tokens). {@code trainable} pieces count in the loss.
 */
public sealed interface Piece {

    boolean trainable();

    /** Plain text, tokenized by the tokenizer. */
    record Text(String text, boolean trainable) implements Piece {
    }

    /** A special token by name, e.g. {@code <|eos|>}; the tokenizer maps it to its id. */
    record Special(String name, boolean trainable) implements Piece {
    }
}
