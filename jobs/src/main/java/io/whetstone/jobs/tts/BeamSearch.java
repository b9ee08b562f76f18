package io.whetstone.jobs.tts;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Step-level beam search, on many questions at once: from each of {@code width} partial solutions,
 * {@code expansions} next steps are drawn ({@link Expander}); every extended solution is scored ({@link Scorer}:
 * in the tts job a process reward model, with optional greedy lookahead); the best {@code width} open ones go on.
 * A solution the expander marks finished (it stated its answer or ended) is set aside; a question's search stops
 * when {@code width} are finished or after {@code maxSteps} steps, and answers with its best finished solution
 * (else its best partial one). Every generated token counts, discarded expansions and lookahead included.
 *
 * @param width beams kept per depth
 * @param expansions steps drawn per beam
 * @param maxSteps the deepest a solution goes
 */
public record BeamSearch(int width, int expansions, int maxSteps) implements java.io.Serializable {

    private static final long serialVersionUID = 2L;

    /** One next step to draw: for {@code question}, from partial solution {@code prefix} (its beam), draw {@code draw}. */
    public record Request(int question, int beam, int depth, int draw, String prefix) {
    }

    /** A drawn step: its text, the tokens it cost, and whether the solution ends with it. */
    public record Step(String text, long tokens, boolean finished) {
    }

    /** A scored solution: its score (higher is better) and the tokens scoring cost (lookahead). */
    public record Scored(double score, long tokens) {
    }

    /** Draws next steps, all requests of one depth at once (so a model can batch them). */
    @FunctionalInterface
    public interface Expander {
        List<Step> expand(List<Request> requests);
    }

    /** Scores solutions: {@code texts.get(i)} of question {@code questions.get(i)}. */
    @FunctionalInterface
    public interface Scorer {
        List<Scored> score(List<Integer> questions, List<String> texts);
    }

    private record Beam(String text, boolean finished, double score) {
    }

    /** The choice of every one of {@code questions} questions; {@code answer} reads a solution's final answer. */
    public List<Choice> search(int questions, Expander expander, Scorer scorer, Function<String, String> answer) {
        List<List<Beam>> beams = new ArrayList<>();
        List<List<Beam>> finished = new ArrayList<>();
        long[] tokens = new long[questions];
        for (int q = 0; q < questions; q++) {
            beams.add(List.of(new Beam("", false, Double.NEGATIVE_INFINITY)));
            finished.add(new ArrayList<>());
        }
        for (int depth = 0; depth < maxSteps; depth++) {
            List<Request> requests = new ArrayList<>();
            for (int q = 0; q < questions; q++) {
                if (finished.get(q).size() >= width) {
                    continue;
                }
                for (int b = 0; b < beams.get(q).size(); b++) {
                    for (int e = 0; e < expansions; e++) {
                        requests.add(new Request(q, b, depth, e, beams.get(q).get(b).text()));
                    }
                }
            }
            if (requests.isEmpty()) {
                break;
            }
            List<Step> steps = expander.expand(requests);
            List<Integer> owners = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < steps.size(); i++) {
                Request request = requests.get(i);
                tokens[request.question()] += steps.get(i).tokens();
                owners.add(request.question());
                texts.add(request.prefix() + steps.get(i).text());
            }
            List<Scored> scores = scorer.score(owners, texts);
            List<List<Beam>> candidates = new ArrayList<>();
            for (int q = 0; q < questions; q++) {
                candidates.add(new ArrayList<>());
            }
            for (int i = 0; i < steps.size(); i++) {
                int q = owners.get(i);
                tokens[q] += scores.get(i).tokens();
                candidates.get(q).add(new Beam(texts.get(i), steps.get(i).finished(), scores.get(i).score()));
            }
            for (int q = 0; q < questions; q++) {
                if (candidates.get(q).isEmpty()) {
                    continue;
                }
                List<Beam> ranked = new ArrayList<>(candidates.get(q));
                ranked.sort(Comparator.comparingDouble(Beam::score).reversed()); // stable: ties keep draw order
                List<Beam> open = new ArrayList<>();
                for (Beam beam : ranked) {
                    if (beam.finished()) {
                        if (finished.get(q).size() < width) {
                            finished.get(q).add(beam);
                        }
                    } else if (open.size() < width) {
                        open.add(beam);
                    }
                }
                beams.set(q, open);
            }
        }
        List<Choice> out = new ArrayList<>(questions);
        for (int q = 0; q < questions; q++) {
            List<Beam> pool = finished.get(q).isEmpty() ? beams.get(q) : finished.get(q);
            Beam best = pool.stream().max(Comparator.comparingDouble(Beam::score)).orElse(null);
            out.add(new Choice(best == null ? null : answer.apply(best.text()), 0, Map.of(), width * expansions,
                    tokens[q]));
        }
        return out;
    }
}
