package io.whetstone.jobs.tts;

import io.whetstone.datasets.tasks.AnswerFormat;
import io.whetstone.datasets.tasks.Steps;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.TtsConfig;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.prm.ProcessRewardModel;
import io.whetstone.jobs.prm.StepRow;
import io.whetstone.jobs.prm.StepRowReader;
import io.whetstone.jobs.rollout.PromptRecord;
import io.whetstone.jobs.rollout.SampleGenerator;
import io.whetstone.jobs.rollout.SamplerSetup;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

/**
 * {@link BeamSearch} with the policy drawing steps (sampled until the step delimiter; each draw seeded by
 * (seed, question, depth, beam, draw)) and the process reward model scoring solutions (their steps'
 * probabilities aggregated, after {@code lookahead} greedy steps when set), on one executor's questions.
 */
final class ModelBeamSearch {

    private ModelBeamSearch() {
    }

    static List<Choice> run(TtsConfig.Beam settings, TtsConfig.ProcessReward reward, SamplerSetup sampler,
                            Supplier<float[]> weights, List<PromptRecord> prompts, ProcessRewardModel prm,
                            AnswerFormat format) {
        Transformer policy = ModelPool.acquire(sampler.poolKey(), weights);
        try {
            Tokenizer tokenizer = sampler.tokenizer();
            String delimiter = reward.delimiter();
            int room = sampler.model().maxSeqLen() - 1;
            BeamSearch.Expander expander = requests -> {
                List<PromptRecord> rows = new ArrayList<>();
                List<Integer> draws = new ArrayList<>();
                List<BeamSearch.Step> out = new ArrayList<>(Collections.nCopies(requests.size(), null));
                List<Integer> drawn = new ArrayList<>();
                for (int i = 0; i < requests.size(); i++) {
                    BeamSearch.Request request = requests.get(i);
                    PromptRecord prompt = prompts.get(request.question());
                    PromptRecord extended = extend(prompt, request.prefix(), tokenizer,
                            prompt.index() * 4096L + request.depth() * 64L + request.beam());
                    if (extended.ids().length >= room) {
                        out.set(i, new BeamSearch.Step("", 0, true)); // no room for another step
                        continue;
                    }
                    rows.add(extended);
                    draws.add(request.draw());
                    drawn.add(i);
                }
                List<Completion> steps = SampleGenerator.generate(policy, rows, draws, sampler.sampling(),
                        tokenizer.eosId(), 2, (row, generated) -> tokenizer.decode(generated).contains(delimiter));
                for (int k = 0; k < steps.size(); k++) {
                    String text = SampleGenerator.text(steps.get(k), tokenizer);
                    boolean more = text.contains(delimiter);
                    String step = cut(text, delimiter);
                    boolean done = !more || format.extract(step).isPresent();
                    out.set(drawn.get(k), new BeamSearch.Step(step, steps.get(k).tokens().length, done));
                }
                return out;
            };
            BeamSearch.Scorer scorer = (questions, texts) -> {
                List<String> extended = new ArrayList<>(texts);
                long[] spent = new long[texts.size()];
                for (int look = 0; look < settings.lookahead(); look++) {
                    List<PromptRecord> rows = new ArrayList<>();
                    for (int i = 0; i < extended.size(); i++) {
                        PromptRecord prompt = prompts.get(questions.get(i));
                        rows.add(extend(prompt, extended.get(i), tokenizer, prompt.index() * 4096L + i));
                    }
                    List<Completion> more = SampleGenerator.generate(policy, rows, Collections.nCopies(rows.size(), 0),
                            sampler.sampling().asGreedy(), tokenizer.eosId(), 3,
                            (row, generated) -> tokenizer.decode(generated).contains(delimiter));
                    for (int i = 0; i < more.size(); i++) {
                        spent[i] += more.get(i).tokens().length;
                        extended.set(i, extended.get(i) + cut(SampleGenerator.text(more.get(i), tokenizer), delimiter));
                    }
                }
                List<BeamSearch.Scored> out = new ArrayList<>(texts.size());
                for (int i = 0; i < texts.size(); i++) {
                    out.add(new BeamSearch.Scored(score(prm, reward, prompts.get(questions.get(i)).text(),
                            extended.get(i)), spent[i]));
                }
                return out;
            };
            return new BeamSearch(settings.width(), settings.expansions(), settings.maxSteps()).search(prompts.size(),
                    expander, scorer, text -> format.extract(text).orElse(null));
        } finally {
            ModelPool.release(sampler.poolKey(), policy);
        }
    }

    /** The text up to and including the first delimiter (a sampled step may run a token past it). */
    private static String cut(String step, String delimiter) {
        int at = step.indexOf(delimiter);
        return at < 0 ? step : step.substring(0, at + delimiter.length());
    }

    /** {@code prompt} followed by {@code partial}, as a prompt of its own. */
    private static PromptRecord extend(PromptRecord prompt, String partial, Tokenizer tokenizer, long index) {
        int[] added = tokenizer.encode(partial);
        int[] ids = Arrays.copyOf(prompt.ids(), prompt.ids().length + added.length);
        System.arraycopy(added, 0, ids, prompt.ids().length, added.length);
        return new PromptRecord(index, prompt.id(), prompt.text() + partial, ids, prompt.reference());
    }

    /** A solution's score: its steps' probabilities under the process reward model, aggregated (0 without steps). */
    static double score(ProcessRewardModel prm, TtsConfig.ProcessReward reward, String prompt, String text) {
        List<String> steps = Steps.split(text, reward.delimiter());
        StepRow row = StepRowReader.build(prm.tokenizer(), prompt, steps, new double[steps.size()],
                prm.config().maxSeqLen());
        if (row.ends().length == 0) {
            return 0;
        }
        double[] scores = prm.scores(row);
        double min = 1;
        double product = 1;
        for (double score : scores) {
            double p = 1 / (1 + Math.exp(-score));
            min = Math.min(min, p);
            product *= p;
        }
        return switch (reward.aggregation()) {
            case "min" -> min;
            case "last" -> 1 / (1 + Math.exp(-scores[scores.length - 1]));
            default -> product;
        };
    }
}
