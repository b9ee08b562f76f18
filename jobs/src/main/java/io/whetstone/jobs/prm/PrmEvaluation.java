package io.whetstone.jobs.prm;

import io.whetstone.datasets.tasks.Steps;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A process reward model against true step labels (prm-data with {@code steps.true_labels}): a step is judged
 * right when its score is above 0 (probability above one half); step accuracy over all steps; and over the
 * solutions with a mistake, how often the first step judged wrong is the first wrong step (first-error
 * detection), and over the right solutions, how often no step is judged wrong.
 */
public final class PrmEvaluation {

    private PrmEvaluation() {
    }

    /** The numbers of {@code model} on {@code path}'s solutions, scored on the executors. */
    public static Map<String, Double> evaluate(JavaSparkContext context, String path, ProcessRewardModel model,
                                               int partitions) {
        JavaRDD<StepRow> rows = StepRowReader.read(context, path, model.tokenizer(), "true_labels",
                model.config().maxSeqLen(), partitions);
        List<double[]> counts = rows.mapPartitions(part -> {
            double[] sums = new double[6]; // steps, right judgements, with error, error found, clean, judged clean
            while (part.hasNext()) {
                StepRow row = part.next();
                double[] scores = model.scores(row);
                boolean[] truth = new boolean[scores.length];
                boolean[] judged = new boolean[scores.length];
                for (int k = 0; k < scores.length; k++) {
                    truth[k] = row.labels()[k] > 0.5;
                    judged[k] = scores[k] > 0;
                    sums[0]++;
                    sums[1] += truth[k] == judged[k] ? 1 : 0;
                }
                int firstError = Steps.firstError(truth);
                if (firstError >= 0) {
                    sums[2]++;
                    sums[3] += Steps.firstError(judged) == firstError ? 1 : 0;
                } else {
                    sums[4]++;
                    sums[5] += Steps.firstError(judged) < 0 ? 1 : 0;
                }
            }
            return List.of(sums).iterator();
        }).collect();
        double[] total = new double[6];
        for (double[] part : new ArrayList<>(counts)) {
            for (int i = 0; i < total.length; i++) {
                total[i] += part[i];
            }
        }
        Map<String, Double> out = new TreeMap<>();
        out.put("steps", total[0]);
        out.put("step_accuracy", total[0] == 0 ? Double.NaN : total[1] / total[0]);
        out.put("solutions_with_error", total[2]);
        out.put("first_error_detection", total[2] == 0 ? Double.NaN : total[3] / total[2]);
        out.put("right_solutions", total[4]);
        out.put("right_solutions_judged_right", total[4] == 0 ? Double.NaN : total[5] / total[4]);
        return out;
    }
}
