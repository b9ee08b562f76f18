package io.whetstone.jobs.rollout;

import io.whetstone.datasets.rewards.RewardInput;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Sampling and scoring of completions with a policy already loaded in this JVM: the shared core of RL
 * rollouts, chain-of-thought corpora, preference pairs and test-time sampling.
 */
public final class SampleGenerator {

    private SampleGenerator() {
    }

    /** Sample {@code samples.get(i)} of {@code prompts.get(i)} for every i, in batches of the decode batch. */
    public static List<Completion> generate(Transformer policy, List<PromptRecord> prompts, List<Integer> samples,
                                            SamplingSpec sampling, int eosId, long iteration) {
        return generate(policy, prompts, samples, sampling, eosId, iteration, null);
    }

    /** As above, each row ending early where {@code stop} (may be null) says so. */
    public static List<Completion> generate(Transformer policy, List<PromptRecord> prompts, List<Integer> samples,
                                            SamplingSpec sampling, int eosId, long iteration,
                                            KvCacheDecoder.StopCondition stop) {
        SamplingConfig config = sampling.greedy() ? SamplingConfig.greedy(sampling.maxNewTokens(), eosId)
                : new SamplingConfig(sampling.maxNewTokens(), sampling.temperature(), sampling.topK(), sampling.topP(),
                sampling.seed(), new int[] {eosId});
        KvCacheDecoder decoder = new KvCacheDecoder(policy);
        List<Completion> completions = new ArrayList<>(prompts.size());
        int batch = sampling.decodeBatch();
        for (int from = 0; from < prompts.size(); from += batch) {
            int to = Math.min(prompts.size(), from + batch);
            List<int[]> ids = new ArrayList<>(to - from);
            long[] seeds = new long[to - from];
            for (int i = from; i < to; i++) {
                ids.add(prompts.get(i).ids());
                seeds[i - from] = SamplingSpec.seed(sampling.seed(), prompts.get(i).index(), samples.get(i), iteration);
            }
            completions.addAll(decoder.generate(ids, config, seeds, stop));
        }
        return completions;
    }

    /** A completion's text: its ids decoded without a final end-of-sequence token. */
    public static String text(Completion completion, Tokenizer tokenizer) {
        int[] ids = completion.tokens();
        boolean endsWithEos = completion.finish() == Completion.Finish.STOP && ids.length > 0
                && ids[ids.length - 1] == tokenizer.eosId();
        return tokenizer.decode(endsWithEos ? Arrays.copyOf(ids, ids.length - 1) : ids);
    }

    /** What the rewards see of {@code completion} (decoded as {@code text}) for {@code prompt}. */
    public static RewardInput input(PromptRecord prompt, Completion completion, String text) {
        return new RewardInput(prompt.text(), text, prompt.reference(), completion.tokens().length,
                completion.finish() != Completion.Finish.STOP);
    }

    /** The rewards of each completion (decoded as {@code texts}) for its prompt, scored together (batched). */
    public static List<RewardScorer.Scored> scoreAll(RewardScorer scorer, List<PromptRecord> prompts,
                                                     List<Completion> completions, List<String> texts) {
        List<RewardInput> inputs = new ArrayList<>(completions.size());
        for (int i = 0; i < completions.size(); i++) {
            inputs.add(input(prompts.get(i), completions.get(i), texts.get(i)));
        }
        return scorer.scoreAll(inputs);
    }

    /** A sample of its parts. */
    public static Sample sample(PromptRecord prompt, int sample, Completion completion, String text,
                                RewardScorer.Scored scored, SamplingSpec sampling, long iteration) {
        return new Sample(prompt.index(), prompt.id(), sample, prompt.text(), text, prompt.reference(), prompt.ids(),
                completion.tokens(), completion.samplerLogProbs(), completion.logProbs(), scored.components(),
                scored.total(), scored.failure(), completion.finish().name().toLowerCase(Locale.ROOT),
                SamplingSpec.seed(sampling.seed(), prompt.index(), sample, iteration));
    }
}
