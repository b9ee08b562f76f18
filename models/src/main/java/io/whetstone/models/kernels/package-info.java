/**
 * The elementwise and data-movement steps of the transformer behind one interface,
 * {@link io.whetstone.models.kernels.Kernels}, in three implementations: a plain double reference, fused
 * fp32 CPU kernels (JDK Vector API) and ND4J ops (any backend). Depends on ND4J only.
 */
package io.whetstone.models.kernels;
