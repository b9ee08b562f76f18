/**
 * Training and evaluation data: record formats and their validation ({@code records}), tokenizers and
 * chat templates ({@code tokenize}), packing into fixed-length sequences ({@code pack}), built-in tasks
 * with verifiers ({@code tasks}), and reading, validating, tokenizing and caching corpora on any Hadoop
 * path with Spark ({@code spark}). Depends on Jackson, DJL tokenizers and (provided) Spark; not on models.
 */
package io.whetstone.datasets;
