package io.whetstone.jobs.rollout;

import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.engine.Nd4jThreads;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.function.Supplier;

/**
 * The work of one partition of a sampling job (a chain-of-thought corpus, preference pairs): sample the
 * configured number of completions for each of the partition's prompts from a fixed policy and score them.
 * Prompts go in index order and every sample has its own seed, so a retried task returns the same samples.
 */
public final class SamplingTask {

    private SamplingTask() {
    }

    /**
     * What a partition returns.
     *
     * @param samples by prompt index, then sample
     * @param generationNanos time sampling
     * @param scoringNanos time scoring
     * @param rewardFailures samples whose scoring failed
     */
    public record Result(List<Sample> samples, long generationNanos, long scoringNanos, long rewardFailures)
            implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** Samples and scores {@code prompts} with the policy whose weights {@code weights} holds. */
    public static Iterator<Result> run(SamplerSetup setup, Supplier<float[]> weights, Iterator<PromptRecord> prompts,
                                       long iteration) {
        List<PromptRecord> list = new ArrayList<>();
        prompts.forEachRemaining(list::add);
        list.sort(Comparator.comparingLong(PromptRecord::index));
        if (list.isEmpty()) {
            return List.of(new Result(List.of(), 0, 0, 0)).iterator();
        }
        Nd4jThreads.apply(setup.engine().threads());
        Transformer policy = ModelPool.acquire(setup.poolKey(), weights);
        try (RewardScorer scorer = new RewardScorer(setup.rewards(), setup.rewardTimeoutMs())) {
            List<PromptRecord> rowPrompts = new ArrayList<>();
            List<Integer> rowSamples = new ArrayList<>();
            for (PromptRecord prompt : list) {
                for (int s = 0; s < setup.sampling().samplesPerPrompt(); s++) {
                    rowPrompts.add(prompt);
                    rowSamples.add(s);
                }
            }
            long start = System.nanoTime();
            List<Completion> completions = SampleGenerator.generate(policy, rowPrompts, rowSamples, setup.sampling(),
                    setup.tokenizer().eosId(), iteration);
            long generated = System.nanoTime();
            List<Sample> out = new ArrayList<>(completions.size());
            long failures = 0;
            List<String> texts = new ArrayList<>(completions.size());
            completions.forEach(completion -> texts.add(SampleGenerator.text(completion, setup.tokenizer())));
            List<RewardScorer.Scored> scores = SampleGenerator.scoreAll(scorer, rowPrompts, completions, texts);
            for (int i = 0; i < completions.size(); i++) {
                RewardScorer.Scored scored = scores.get(i);
                failures += scored.failed() ? 1 : 0;
                out.add(SampleGenerator.sample(rowPrompts.get(i), rowSamples.get(i), completions.get(i), texts.get(i),
                        scored, setup.sampling(), iteration));
            }
            return List.of(new Result(out, generated - start, System.nanoTime() - generated, failures)).iterator();
        } finally {
            ModelPool.release(setup.poolKey(), policy);
        }
    }
}
