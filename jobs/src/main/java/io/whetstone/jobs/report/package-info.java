/**
 * The run report: one self-contained {@code report.html} per run or pipeline directory, built only from the files
 * the run wrote (metrics, events, evaluations, samples, resolved configs), with its charts as inline SVG so it
 * opens anywhere without network access.
 */
package io.whetstone.jobs.report;
