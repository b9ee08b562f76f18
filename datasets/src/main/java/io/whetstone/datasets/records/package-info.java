/**
 * Input record formats, their validation into {@link io.whetstone.datasets.records.Example}s of text and
 * special-token pieces, and the errors that name file, line and field. No Spark, no tokenizer.
 */
package io.whetstone.datasets.records;
