/**
 * The training engine: {@link io.whetstone.models.engine.Transformer} (forward and backward of both
 * families over ND4J GEMMs and {@link io.whetstone.models.kernels.Kernels}), its flat parameter store and
 * layout. Objectives and optimisers live beside it and depend on it, not the other way round.
 */
package io.whetstone.models.engine;
