/** Packing tokenized examples into fixed-length rows with loss masks, and rows into batches. */
package io.whetstone.datasets.pack;
