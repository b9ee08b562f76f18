/** Text generation with the engine's models. */
package io.whetstone.models.generate;
