/**
 * Job configuration: loading YAML files and {@code key=value} overrides over built-in defaults into
 * validated records, and the records of each job's config. Errors name the key and the value.
 */
package io.whetstone.jobs.config;
