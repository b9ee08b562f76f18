package io.whetstone.jobs.tts;

import io.whetstone.jobs.config.TtsConfig;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every configured strategy at every budget on one question: greedy once, the others on the question's
 * leading samples that each budget pays for.
 *
 * @param strategies the strategies' names
 * @param tokenBudgets whether budgets count tokens (else samples)
 * @param budgets the budgets per question
 * @param adaptive the compute-optimal rule's settings
 */
public record Evaluation(List<String> strategies, boolean tokenBudgets, List<Integer> budgets,
                         TtsConfig.Adaptive adaptive) implements Serializable {

    private static final long serialVersionUID = 1L;

    public Evaluation {
        strategies = List.copyOf(strategies);
        budgets = List.copyOf(budgets);
    }

    /** The outcomes of {@code question}. */
    public List<Outcome> of(Question question) {
        List<Outcome> out = new ArrayList<>();
        for (String strategy : strategies) {
            if (strategy.equals("greedy")) {
                Candidate greedy = question.greedy();
                out.add(outcome(question, strategy, 1, new Choice(greedy.answer(), 0, Map.of(), 1, greedy.tokens()),
                        greedy.reward()));
                continue;
            }
            for (int budget : budgets) {
                List<Candidate> pool = tokenBudgets ? Strategies.withinTokens(question.samples(), budget)
                        : question.samples().subList(0, Math.min(budget, question.samples().size()));
                Choice choice = switch (strategy) {
                    case "self_consistency" -> Strategies.majority(pool);
                    case "weighted_vote" -> Strategies.weightedVote(pool);
                    case "best_of_n_rm" -> Strategies.best(pool, Candidate::reward);
                    case "best_of_n_prm" -> Strategies.best(pool, Candidate::process);
                    case "best_of_n_verifier" -> Strategies.oracle(pool);
                    case "adaptive" -> Strategies.adaptive(pool, adaptive.first(), adaptive.agreement());
                    default -> throw new IllegalArgumentException("unknown strategy " + strategy);
                };
                out.add(outcome(question, strategy, budget, choice,
                        choice.index() < 0 ? Double.NaN : pool.get(choice.index()).reward()));
            }
        }
        return out;
    }

    private static Outcome outcome(Question question, String strategy, int budget, Choice choice, double score) {
        Boolean correct = question.reference() == null ? null
                : choice.answer() != null && choice.answer().equals(question.reference());
        return new Outcome(question.index(), question.id(), strategy, budget, choice.candidates(), choice.tokens(),
                choice.answer(), choice.votes(), score, correct);
    }
}
