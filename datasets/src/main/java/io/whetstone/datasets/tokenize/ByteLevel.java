package io.whetstone.datasets.tokenize;

/**
 * GPT-2's byte-to-unicode table: byte-level BPE vocabularies (Hugging Face {@code ByteLevel}) store each
 * byte as a printable character: printable Latin-1 bytes as themselves, the others as U+0100 onwards.
 */
final class ByteLevel {

    private ByteLevel() {
    }

    /** The symbol of each byte 0-255. */
    static String[] symbols() {
        String[] symbols = new String[256];
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            symbols[b] = printable ? String.valueOf((char) b) : String.valueOf((char) (256 + next++));
        }
        return symbols;
    }
}
