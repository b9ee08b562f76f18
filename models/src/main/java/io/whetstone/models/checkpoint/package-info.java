/**
 * Checkpoint formats: safetensors (read and write, bounds-checked) and the Hugging Face naming and
 * layouts of both families. Stream-based, so the Spark jobs can use them on any Hadoop file system.
 */
package io.whetstone.models.checkpoint;
