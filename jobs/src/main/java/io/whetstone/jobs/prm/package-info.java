/**
 * Process rewards: step labels without human annotation (Monte-Carlo rollouts from each step prefix, as in
 * Math-Shepherd) and, for exactly checkable tasks, the true step labels to measure them against.
 */
package io.whetstone.jobs.prm;
