package io.whetstone.jobs.prm;

import io.whetstone.datasets.tasks.Steps;
import io.whetstone.jobs.rollout.PromptRecord;
import io.whetstone.jobs.rollout.Sample;
import io.whetstone.jobs.rollout.SamplerSetup;
import io.whetstone.jobs.rollout.SamplingTask;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The work of one partition of prm-data: sample solutions of its questions, split them into steps, roll out
 * continuations from every step prefix but the whole solution, and label each step by the share of its
 * continuations that the verifier accepts. Every rollout's seed derives from (seed, question, solution, step,
 * continuation), so a retried task labels the same way.
 */
final class StepRollouts {

    private StepRollouts() {
    }

    /** The labelled solutions of {@code prompts}. */
    static List<LabelledSolution> label(SamplerSetup solutions, SamplerSetup rollouts, Supplier<float[]> weights,
                                        List<PromptRecord> prompts, String delimiter, boolean trueLabels) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        List<Sample> sampled = SamplingTask.run(solutions, weights, prompts.iterator(), 0).next().samples();
        int perPrompt = solutions.sampling().samplesPerPrompt();
        // one prompt record per step prefix: the question followed by the solution up to the end of the step;
        // continuations sample as iteration 1 so their seeds never repeat the solutions' (iteration 0)
        List<PromptRecord> prefixes = new ArrayList<>();
        Map<Long, int[]> where = new LinkedHashMap<>(); // prefix index -> {solution, step}
        List<List<String>> stepsOf = new ArrayList<>();
        int maxPrompt = solutions.model().maxSeqLen() - rollouts.sampling().maxNewTokens();
        for (int s = 0; s < sampled.size(); s++) {
            Sample sample = sampled.get(s);
            List<String> steps = Steps.split(sample.completion(), delimiter);
            stepsOf.add(steps);
            StringBuilder prefix = new StringBuilder();
            for (int k = 0; k + 1 < steps.size(); k++) {
                prefix.append(steps.get(k));
                int[] added = solutions.tokenizer().encode(prefix.toString());
                int[] ids = java.util.Arrays.copyOf(sample.promptIds(), sample.promptIds().length + added.length);
                System.arraycopy(added, 0, ids, sample.promptIds().length, added.length);
                if (ids.length > maxPrompt) {
                    break; // no room to continue: later steps keep no Monte-Carlo label (NaN)
                }
                long index = (sample.promptIndex() * perPrompt + sample.sample()) * 1024L + k;
                prefixes.add(new PromptRecord(index, sample.promptId(), sample.prompt() + prefix, ids,
                        sample.reference()));
                where.put(index, new int[] {s, k});
            }
        }
        double[][] correct = new double[sampled.size()][];
        int[][] counts = new int[sampled.size()][];
        for (int s = 0; s < sampled.size(); s++) {
            correct[s] = new double[stepsOf.get(s).size()];
            counts[s] = new int[stepsOf.get(s).size()];
        }
        if (!prefixes.isEmpty()) {
            for (Sample continuation : SamplingTask.run(rollouts, weights, prefixes.iterator(), 1).next().samples()) {
                int[] at = where.get(continuation.promptIndex());
                counts[at[0]][at[1]]++;
                correct[at[0]][at[1]] += continuation.rewards()[0] == 1.0 ? 1 : 0;
            }
        }
        Map<Long, PromptRecord> byIndex = new LinkedHashMap<>();
        prompts.forEach(prompt -> byIndex.put(prompt.index(), prompt));
        List<LabelledSolution> out = new ArrayList<>(sampled.size());
        for (int s = 0; s < sampled.size(); s++) {
            Sample sample = sampled.get(s);
            List<String> steps = stepsOf.get(s);
            boolean right = sample.rewards()[0] == 1.0;
            double[] soft = new double[steps.size()];
            for (int k = 0; k < steps.size(); k++) {
                soft[k] = k == steps.size() - 1 ? (right ? 1 : 0)
                        : counts[s][k] == 0 ? Double.NaN : correct[s][k] / counts[s][k];
            }
            boolean[] truth = trueLabels ? Steps.againstReference(steps,
                    Steps.split(byIndex.get(sample.promptIndex()).reference(), delimiter)) : null;
            out.add(new LabelledSolution(sample.promptIndex(), sample.promptId(), sample.sample(), sample.prompt(),
                    steps, soft, truth, right));
        }
        return out;
    }
}
