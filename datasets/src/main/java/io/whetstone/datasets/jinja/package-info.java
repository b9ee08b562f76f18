/**
 * A Jinja renderer for Hugging Face chat templates: lexer, parser, renderer with Python value semantics,
 * and the filters, tests and methods real templates use. Depends on the JDK only; used by
 * {@link io.whetstone.datasets.records.ModelChatTemplate}.
 */
package io.whetstone.datasets.jinja;
