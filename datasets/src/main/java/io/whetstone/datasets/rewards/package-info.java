/**
 * Rewards for online RL: small functions of (prompt, completion, reference) that are easy to test on
 * their own. Built in: the built-in task's verifier, GSM8K numeric answer match, a format reward, DAPO's
 * overlong penalty and a word-mention reward. A {@link io.whetstone.datasets.rewards.RewardScorer}
 * combines components with weights and turns a component that throws or runs past its time limit into a
 * counted, logged failure, never a silent zero.
 */
package io.whetstone.datasets.rewards;
