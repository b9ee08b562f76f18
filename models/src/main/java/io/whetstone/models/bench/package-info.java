/**
 * The training-step benchmark behind {@code whetstone bench}: model sizes A, B, C of both families,
 * timed steps, forward passes, the GEMM peak of the same run, MFU and peak RSS.
 */
package io.whetstone.models.bench;
