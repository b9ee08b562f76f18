package io.whetstone.datasets.tokenize;

import io.whetstone.datasets.records.Example;
import io.whetstone.datasets.records.Piece;
import java.io.Serializable;
import java.util.Arrays;

/**
 * An example as ids with a per-token loss flag: {@code trainable[i]} says whether predicting
 * {@code ids[i]} (from the ids before it) counts in the loss.
 *
 * @param source file of origin
 * @param line line (or row) of origin
 * @param ids token ids
 * @param trainable per-token loss flags
 */
public record TokenizedExample(String source, long line, int[] ids, boolean[] trainable) implements Serializable {

    private static final long serialVersionUID = 1L;

    public TokenizedExample {
        if (ids.length != trainable.length) {
            throw new IllegalArgumentException("ids and flags differ in length");
        }
    }

    /** Tokenizes the pieces of {@code example}. */
    public static TokenizedExample of(Example example, Tokenizer tokenizer) {
        int[] ids = new int[64];
        boolean[] flags = new boolean[64];
        int n = 0;
        boolean started = false;
        for (Piece piece : example.pieces()) {
            int[] pieceIds;
            if (piece instanceof Piece.Text text) {
                pieceIds = started ? tokenizer.encodeContinuation(text.text()) : tokenizer.encode(text.text());
                started = true;
            } else if (((Piece.Special) piece).name().equals("<|bos|>") && !tokenizer.hasSpecial("<|bos|>")) {
                continue; // a tokenizer without a BOS token (Qwen's) starts sequences with their text, as transformers does
            } else {
                pieceIds = new int[] {tokenizer.specialId(((Piece.Special) piece).name())};
            }
            if (n + pieceIds.length > ids.length) {
                int capacity = Math.max(ids.length * 2, n + pieceIds.length);
                ids = Arrays.copyOf(ids, capacity);
                flags = Arrays.copyOf(flags, capacity);
            }
            for (int id : pieceIds) {
                ids[n] = id;
                flags[n] = piece.trainable();
                n++;
            }
        }
        return new TokenizedExample(example.source(), example.line(), Arrays.copyOf(ids, n), Arrays.copyOf(flags, n));
    }

    public int length() {
        return ids.length;
    }

    /** Number of tokens the loss counts. */
    public int trainableTokens() {
        int count = 0;
        for (boolean flag : trainable) {
            if (flag) {
                count++;
            }
        }
        return count;
    }

    /** The first {@code length} tokens. */
    public TokenizedExample truncate(int length) {
        return new TokenizedExample(source, line, Arrays.copyOf(ids, length), Arrays.copyOf(trainable, length));
    }
}
