/**
 * Low-rank adapters: where they sit (sites on the engine's projections, named as in PEFT), their flat
 * parameter layout, and export in the PEFT layout and as merged weights. The engine's projections
 * apply them ({@code engine.Projection}).
 */
package io.whetstone.models.lora;
