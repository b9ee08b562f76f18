package io.whetstone.jobs.rl;

import io.whetstone.jobs.rollout.PromptRecord;
import io.whetstone.jobs.rollout.SampleGenerator;
import io.whetstone.jobs.rollout.SamplingSpec;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.engine.Nd4jThreads;
import io.whetstone.models.train.TrainingState;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.rl.TokenEntropy;
import io.whetstone.models.rl.ValueHead;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The rollout work of one partition, inside a Spark task: sample a group of completions for each of the
 * partition's prompts from the broadcast policy, score them, and run the trainer's forward passes (the
 * policy's log-probs and entropy, the value head, the reference's log-probs). Every sample's generator is
 * seeded by (seed, prompt index, sample, iteration), so a retried task reproduces its rollouts.
 */
public final class RolloutWorker {

    private RolloutWorker() {
    }

    /** Frees the models pooled in this JVM (end of a job). */
    public static void clearPools() {
        ModelPool.clear();
    }

    /** The seed of sample {@code sample} of prompt {@code promptIndex} in {@code iteration}. */
    static long seed(long seed, long promptIndex, int sample, long iteration) {
        return SamplingSpec.seed(seed, promptIndex, sample, iteration);
    }

    /**
     * Rollouts of {@code prompts}: {@code group} samples each (greedy when {@code greedy}, for evaluation,
     * which also skips the log-prob passes).
     */
    static Iterator<RolloutPartition> run(RlWorkerSetup setup, float[] policyParams, Supplier<io.whetstone.models.engine.FrozenParams> reference,
                                          Iterator<PromptRecord> prompts, long iteration, long policyVersion,
                                          int group, boolean greedy) {
        return run(setup, policyParams, reference, prompts, iteration, policyVersion, group, greedy, !greedy);
    }

    /**
     * As above; {@code logProbPasses} chooses whether the trainer's log-prob passes run (sampling a corpus
     * needs only the completions and their scores).
     */
    public static Iterator<RolloutPartition> run(RlWorkerSetup setup, float[] policyParams,
                                                 Supplier<io.whetstone.models.engine.FrozenParams> reference, Iterator<PromptRecord> prompts,
                                                 long iteration, long policyVersion, int group, boolean greedy,
                                                 boolean logProbPasses) {
        long taskStart = System.nanoTime();
        List<PromptRecord> list = new ArrayList<>();
        prompts.forEachRemaining(list::add);
        list.sort(Comparator.comparingLong(PromptRecord::index));
        if (list.isEmpty()) {
            return List.of(new RolloutPartition(List.of(), 0, 0, 0, 0, 0)).iterator();
        }
        Nd4jThreads.apply(setup.engine().threads());
        Transformer policy = ModelPool.acquire(setup.policyKey(), null);
        try (RewardScorer scorer = new RewardScorer(setup.rewards(), setup.rewardTimeoutMs())) {
            // the policy's parameters, then (PPO) its value head's: the flat order of the trained vector
            TrainingState.copyInto(policyParams, policy.parameters().params());
            List<PromptRecord> rowPrompts = new ArrayList<>();
            List<Integer> rowSamples = new ArrayList<>();
            for (PromptRecord prompt : list) {
                for (int s = 0; s < group; s++) {
                    rowPrompts.add(prompt);
                    rowSamples.add(s);
                }
            }
            int rows = rowPrompts.size();
            long start = System.nanoTime();
            List<Completion> completions = generate(setup, policy, rowPrompts, rowSamples, iteration, greedy);
            long generated = System.nanoTime();

            List<String> texts = new ArrayList<>(rows);
            completions.forEach(completion -> texts.add(SampleGenerator.text(completion, setup.tokenizer())));
            List<RewardScorer.Scored> scores = SampleGenerator.scoreAll(scorer, rowPrompts, completions, texts);
            long failures = scores.stream().filter(RewardScorer.Scored::failed).count();
            long scored = System.nanoTime();

            float[][] old = new float[rows][];
            float[][] ref = new float[rows][];
            float[][] values = new float[rows][];
            double[] entropy = new double[rows];
            if (logProbPasses) {
                LogProbPasses.run(setup, policy, reference, rowPrompts, completions, old, ref, values, entropy);
            }
            long passes = System.nanoTime();

            List<Rollout> out = new ArrayList<>(rows);
            for (int i = 0; i < rows; i++) {
                PromptRecord prompt = rowPrompts.get(i);
                Completion completion = completions.get(i);
                out.add(new Rollout(prompt.index(), prompt.id(), rowSamples.get(i), prompt.text(), texts.get(i),
                        prompt.reference(), prompt.ids(), completion.tokens(), completion.samplerLogProbs(),
                        completion.logProbs(), old[i] == null ? new float[0] : old[i],
                        ref[i] == null ? new float[0] : ref[i], values[i] == null ? new float[0] : values[i],
                        scores.get(i).components(), scores.get(i).total(), scores.get(i).failure(),
                        completion.finish().name().toLowerCase(Locale.ROOT), entropy[i], policyVersion,
                        seed(setup.rollout().seed(), prompt.index(), rowSamples.get(i), iteration)));
            }
            return List.of(new RolloutPartition(out, generated - start, scored - generated, passes - scored, failures,
                    System.nanoTime() - taskStart)).iterator();
        } finally {
            ModelPool.release(setup.policyKey(), policy);
        }
    }

    private static List<Completion> generate(RlWorkerSetup setup, Transformer policy, List<PromptRecord> prompts,
                                             List<Integer> samples, long iteration, boolean greedy) {
        SamplingSpec sampling = setup.rollout().sampling();
        return SampleGenerator.generate(policy, prompts, samples, greedy ? sampling.asGreedy() : sampling,
                setup.tokenizer().eosId(), iteration);
    }

    /** The trainer-side forward passes over prompt + completion rows, in micro-batches. */
    static final class LogProbPasses {

        private LogProbPasses() {
        }

        static void run(RlWorkerSetup setup, Transformer policy, Supplier<io.whetstone.models.engine.FrozenParams> reference,
                        List<PromptRecord> prompts, List<Completion> completions, float[][] old, float[][] ref,
                        float[][] values, double[] entropy) {
            Transformer referenceModel = ModelPool.acquireFrozen(setup.referenceKey(), reference);
            try {
                run(setup, policy, referenceModel, prompts, completions, old, ref, values, entropy);
            } finally {
                ModelPool.release(setup.referenceKey(), referenceModel);
            }
        }

        private static void run(RlWorkerSetup setup, Transformer policy, Transformer referenceModel,
                                List<PromptRecord> prompts, List<Completion> completions, float[][] old,
                                float[][] ref, float[][] values, double[] entropy) {
            int micro = setup.rollout().microBatch();
            boolean fromSampler = setup.oldLogProbsFromSampler();
            if (fromSampler) {
                // the sampler drew every token from softmax(logits / T) of this very policy, and recorded its
                // log-prob and the distribution's entropy: what the pass below would recompute (to float rounding)
                for (int i = 0; i < prompts.size(); i++) {
                    Completion completion = completions.get(i);
                    if (completion.samplerEntropy() == null) {
                        throw new IllegalStateException("the sampler recorded no entropies to reuse");
                    }
                    old[i] = completion.samplerLogProbs();
                    double sum = 0;
                    for (float h : completion.samplerEntropy()) {
                        sum += h;
                    }
                    entropy[i] = sum;
                }
                if (referenceModel == null) {
                    return;
                }
            }
            ValueHead head = setup.valueHead() ? new ValueHead(policy.parameters()) : null;
            // the trainer scores tokens under the distribution they were sampled from
            policy.setTemperature(setup.rollout().temperature());
            if (referenceModel != null) {
                referenceModel.setTemperature(setup.rollout().temperature());
            }
            for (int from = 0; from < prompts.size(); from += micro) {
                int to = Math.min(prompts.size(), from + micro);
                List<int[]> promptIds = new ArrayList<>();
                List<int[]> completionIds = new ArrayList<>();
                for (int i = from; i < to; i++) {
                    promptIds.add(prompts.get(i).ids());
                    completionIds.add(completions.get(i).tokens());
                }
                Rows rows = Rows.of(promptIds, completionIds);
                if (!fromSampler) {
                    policyPass(policy, head, rows, completionIds, from, old, values, entropy);
                }
                if (referenceModel != null) {
                    INDArray refLogProbs = referenceModel.forward(rows.tokens, rows.targets, rows.batch, rows.seqLen)
                            .logProbs();
                    for (int b = 0; b < rows.batch; b++) {
                        int n = completionIds.get(b).length;
                        ref[from + b] = new float[n];
                        for (int k = 0; k < n; k++) {
                            ref[from + b][k] = refLogProbs.getFloat(b, rows.firstTarget[b] + k);
                        }
                    }
                }
            }
        }

        /** The policy's forward pass over one micro-batch: old log-probs, entropies and (PPO) values. */
        private static void policyPass(Transformer policy, ValueHead head, Rows rows, List<int[]> completionIds,
                                       int from, float[][] old, float[][] values, double[] entropy) {
            ForwardPass pass = policy.forward(rows.tokens, rows.targets, rows.batch, rows.seqLen);
            INDArray logProbs = pass.logProbs();
            double[] rowValues = head == null ? null : head.forward(pass.hidden());
            for (int b = 0; b < rows.batch; b++) {
                int n = completionIds.get(b).length;
                int first = rows.firstTarget[b];
                old[from + b] = new float[n];
                double sum = 0;
                for (int k = 0; k < n; k++) {
                    old[from + b][k] = logProbs.getFloat(b, first + k);
                    sum += TokenEntropy.of(pass.logits(), b * rows.seqLen + first + k);
                }
                entropy[from + b] = sum;
                if (rowValues != null) {
                    values[from + b] = new float[n];
                    for (int k = 0; k < n; k++) {
                        values[from + b][k] = (float) rowValues[b * rows.seqLen + first + k];
                    }
                }
            }
        }
    }

    /**
     * Rows of prompt + completion as a padded [B, T] batch: inputs are the row without its last token,
     * targets the row shifted by one; the completion's targets start at {@code firstTarget} (the prompt's
     * length - 1). Padding has token 0 and no target.
     */
    static final class Rows {
        final int[] tokens;
        final int[] targets;
        final int[] firstTarget;
        final int batch;
        final int seqLen;

        private Rows(int[] tokens, int[] targets, int[] firstTarget, int batch, int seqLen) {
            this.tokens = tokens;
            this.targets = targets;
            this.firstTarget = firstTarget;
            this.batch = batch;
            this.seqLen = seqLen;
        }

        static Rows of(List<int[]> prompts, List<int[]> completions) {
            int batch = prompts.size();
            int seqLen = 1;
            for (int b = 0; b < batch; b++) {
                seqLen = Math.max(seqLen, prompts.get(b).length + completions.get(b).length - 1);
            }
            int[] tokens = new int[batch * seqLen];
            int[] targets = new int[batch * seqLen];
            Arrays.fill(targets, -1);
            int[] first = new int[batch];
            for (int b = 0; b < batch; b++) {
                int[] p = prompts.get(b);
                int[] c = completions.get(b);
                int length = p.length + c.length;
                for (int t = 0; t < length - 1; t++) {
                    tokens[b * seqLen + t] = t < p.length ? p[t] : c[t - p.length];
                    int next = t + 1;
                    targets[b * seqLen + t] = next < p.length ? p[next] : c[next - p.length];
                }
                first[b] = p.length - 1;
            }
            return new Rows(tokens, targets, first, batch, seqLen);
        }
    }
}
