/**
 * Learning from preferences on Spark: preference units as training rows ({@link
 * io.whetstone.jobs.preference.PreferenceRows}), the reference model's log-probs computed once per corpus on
 * the executors and cached ({@link io.whetstone.jobs.preference.ReferenceLogProbCache}), and the DPO-family
 * job ({@link io.whetstone.jobs.preference.DpoJob}) on the shared distributed update ({@code jobs.engine}).
 */
package io.whetstone.jobs.preference;
