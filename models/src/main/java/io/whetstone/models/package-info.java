/**
 * Model shapes shared by every part of Whetstone: {@link io.whetstone.models.ModelConfig} and
 * {@link io.whetstone.models.Family}. Subpackages hold the engine ({@code engine}), its elementwise
 * kernels ({@code kernels}), objectives, optimisers and the benchmark. Nothing here depends on Spark.
 */
package io.whetstone.models;
