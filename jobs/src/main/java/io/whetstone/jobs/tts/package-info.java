/**
 * Test-time scaling: sample many completions per question on the executors and pick an answer by vote,
 * reward model or verifier at a budget of samples or tokens per question; accuracy-versus-compute summaries.
 */
package io.whetstone.jobs.tts;
