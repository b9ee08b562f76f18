/**
 * Files of a run on any Hadoop path: atomic writes, checkpoints (Hugging Face model directory plus
 * trainer state), and the metrics log.
 */
package io.whetstone.jobs.io;
