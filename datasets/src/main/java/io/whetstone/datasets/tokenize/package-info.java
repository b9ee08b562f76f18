/**
 * Tokenizers (byte-level with no files; Hugging Face {@code tokenizer.json} through DJL) and the step
 * from {@link io.whetstone.datasets.records.Example} pieces to token ids and a loss mask.
 */
package io.whetstone.datasets.tokenize;
