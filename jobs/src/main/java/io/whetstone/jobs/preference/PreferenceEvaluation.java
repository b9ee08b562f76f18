package io.whetstone.jobs.preference;

import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.jobs.engine.Nd4jThreads;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * How a model ranks held-out pairs, scored on the executors: the share of pairs whose chosen completion has
 * the higher summed log-prob, the same for per-token mean log-probs (fair to completions of different
 * lengths), and, where the units carry a reference's log-probs, DPO's implicit-reward accuracy (the chosen
 * completion's log-prob rose more, or fell less, than the rejected one's since the reference) with the mean
 * margin of those implicit rewards at {@code beta}.
 *
 * @param pairs pairs scored
 * @param logProbAccuracy share with chosen sum > rejected sum
 * @param meanLogProbAccuracy share with chosen per-token mean > rejected per-token mean
 * @param rewardAccuracy share with (pi_c - ref_c) > (pi_r - ref_r), NaN without reference log-probs
 * @param meanRewardMargin mean of beta ((pi_c - ref_c) - (pi_r - ref_r)), NaN without reference log-probs
 */
public record PreferenceEvaluation(long pairs, double logProbAccuracy, double meanLogProbAccuracy,
                                   double rewardAccuracy, double meanRewardMargin) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Scores the pairs of {@code units} with {@code model}. */
    public static PreferenceEvaluation evaluate(JavaSparkContext context, JavaRDD<PreferenceRow> units,
                                                CheckpointStore.ModelAndTokenizer model, EngineOptions engine,
                                                double beta) {
        Broadcast<float[]> weights = context.broadcast(model.params());
        io.whetstone.models.ModelConfig config = model.config();
        try {
            context.setJobDescription("whetstone: score held-out preference pairs");
            List<double[]> scored = units.filter(PreferenceRow::paired).mapPartitions(iterator -> {
                List<PreferenceRow> list = new ArrayList<>();
                iterator.forEachRemaining(list::add);
                List<double[]> out = new ArrayList<>();
                if (list.isEmpty()) {
                    return out.iterator();
                }
                Nd4jThreads.apply(engine.threads());
                // built per task and closed after it: an evaluation's weights are not reused, so nothing is pooled
                try (Transformer transformer = new Transformer(config, engine)) {
                    io.whetstone.models.train.TrainingState.copyInto(weights.value(), transformer.parameters().params());
                    for (int from = 0; from < list.size(); from += 8) {
                        List<PreferenceRow> chunk = list.subList(from, Math.min(list.size(), from + 8));
                        List<PreferenceRow> policy = ReferenceLogProbCache.score(transformer, chunk);
                        for (int i = 0; i < chunk.size(); i++) {
                            PreferenceRow unit = chunk.get(i);
                            out.add(new double[] {policy.get(i).refChosen(), policy.get(i).refRejected(),
                                    unit.refChosen(), unit.refRejected(), unit.chosen().trainableTokens(),
                                    unit.rejected().trainableTokens()});
                        }
                    }
                }
                return out.iterator();
            }).collect();
            return summarize(scored, beta);
        } finally {
            weights.destroy();
        }
    }

    /** Rows of (pi_c, pi_r, ref_c, ref_r, tokens_c, tokens_r) into the accuracies. */
    static PreferenceEvaluation summarize(List<double[]> scored, double beta) {
        long pairs = scored.size();
        if (pairs == 0) {
            throw new IllegalArgumentException("no pairs to evaluate");
        }
        double bySum = 0;
        double byMean = 0;
        double byReward = 0;
        double margin = 0;
        boolean reference = true;
        for (double[] row : scored) {
            bySum += row[0] > row[1] ? 1 : 0;
            byMean += row[0] / row[4] > row[1] / row[5] ? 1 : 0;
            if (Double.isNaN(row[2]) || Double.isNaN(row[3])) {
                reference = false;
            } else {
                double pairMargin = (row[0] - row[2]) - (row[1] - row[3]);
                byReward += pairMargin > 0 ? 1 : 0;
                margin += beta * pairMargin;
            }
        }
        return new PreferenceEvaluation(pairs, bySum / pairs, byMean / pairs, reference ? byReward / pairs : Double.NaN,
                reference ? margin / pairs : Double.NaN);
    }
}
