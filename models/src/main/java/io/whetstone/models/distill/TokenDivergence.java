package io.whetstone.models.distill;

import java.util.Arrays;

/**
 * The divergence of one position's next-token distributions and its gradient with respect to the
 * student's raw logits, in double precision. Plain loops: this is the reference and the implementation
 * (the cost is O(V) per position against the O(V * C) of the LM head that produced the logits).
 *
 * <p>With u = student logits / T and the student's distribution p_s = softmax(u), the divergence J is
 * computed over categories c with probabilities p_s(c), p_t(c). The gradient goes through the softmax in
 * one step: with h(c) = p_s(c) * dJ/dp_s(c) and H = sum_c h(c), d J / d logit_j = (w_j * h(c(j)) - p_s,j * H) / T,
 * where w_j is token j's share of its category (1 when each token is its own category). The per-divergence
 * h(c) are: forward KL -p_t(c); reverse KL p_s(c) (log p_s(c) - log p_t(c)); JSD
 * (1 - beta) p_s(c) (log p_s(c) - log m(c)).
 *
 * <p>Top-k support: when only the teacher's k most likely tokens are known (log-probabilities at the
 * loss's temperature, normalised over the whole vocabulary), the categories are those k tokens plus one
 * bucket for everything else, whose teacher mass is 1 minus the top-k mass (floored at {@link #REST_FLOOR}
 * so that reverse KL and JSD stay finite). J is then the exact divergence between the two distributions
 * coarsened to those k + 1 outcomes: a lower bound of the full-vocabulary divergence (data processing),
 * equal to it when the teacher's top-k mass is 1 and the student agrees on how it spreads the rest.
 * Not thread-safe (scratch buffers); one instance per worker.
 */
public final class TokenDivergence {

    /** Floor of the teacher's mass outside its top-k support. */
    public static final double REST_FLOOR = 1e-12;

    private final DistillLoss loss;
    private double[] scaled = new double[0];
    private boolean[] inSupport = new boolean[0];
    private double[] logStudent = new double[0];
    private double[] logTeacher = new double[0];
    private double[] h = new double[0];

    public TokenDivergence(DistillLoss loss) {
        this.loss = loss;
    }

    public DistillLoss loss() {
        return loss;
    }

    /**
     * Over the whole vocabulary.
     *
     * @param student [V] the student's raw logits
     * @param teacher [V] the teacher's raw logits
     * @param dStudent [V] out: d J / d student logits (overwritten)
     * @return J
     */
    public double full(double[] student, double[] teacher, double[] dStudent) {
        int vocab = student.length;
        if (teacher.length != vocab || dStudent.length != vocab) {
            throw new IllegalArgumentException("student and teacher vocabularies differ: " + vocab + " vs "
                    + teacher.length);
        }
        ensure(vocab + 1);
        double temperature = loss.temperature();
        double studentLse = logSumExp(student, temperature, logStudent);
        double teacherLse = logSumExp(teacher, temperature, logTeacher);
        for (int j = 0; j < vocab; j++) {
            logStudent[j] -= studentLse;
            logTeacher[j] -= teacherLse;
        }
        double value = categories(vocab);
        double total = sum(h, vocab);
        for (int j = 0; j < vocab; j++) {
            dStudent[j] = (h[j] - Math.exp(logStudent[j]) * total) / temperature;
        }
        return value;
    }

    /**
     * Over the teacher's top-k support plus one bucket for the rest of the vocabulary.
     *
     * @param student [V] the student's raw logits
     * @param ids [k] the teacher's top-k token ids (distinct)
     * @param teacherLogProbs [k] their log-probabilities under softmax(teacher logits / temperature)
     * @param dStudent [V] out: d J / d student logits (overwritten)
     * @return J
     */
    public double topK(double[] student, int[] ids, float[] teacherLogProbs, double[] dStudent) {
        int vocab = student.length;
        int k = ids.length;
        if (teacherLogProbs.length != k || k == 0) {
            throw new IllegalArgumentException("top-k needs as many log-probs as ids (k >= 1): " + k + " ids, "
                    + teacherLogProbs.length + " log-probs");
        }
        ensure(Math.max(vocab, k + 1));
        double temperature = loss.temperature();
        for (int j = 0; j < vocab; j++) {
            scaled[j] = student[j] / temperature;
        }
        double all = logSumExp(scaled, vocab);
        double teacherMass = 0;
        for (int c = 0; c < k; c++) {
            int id = ids[c];
            if (id < 0 || id >= vocab || inSupport[id]) {
                Arrays.fill(inSupport, false);
                throw new IllegalArgumentException("top-k id " + id + " at " + c + " is outside the vocabulary [0, "
                        + vocab + ") or repeated");
            }
            inSupport[id] = true;
            logStudent[c] = scaled[id] - all;
            teacherMass += Math.exp(teacherLogProbs[c]);
        }
        double restMax = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) {
            if (!inSupport[j]) {
                restMax = Math.max(restMax, scaled[j]);
            }
        }
        double restSum = 0;
        for (int j = 0; j < vocab; j++) {
            if (!inSupport[j]) {
                restSum += Math.exp(scaled[j] - restMax);
            }
        }
        boolean hasRest = k < vocab;
        double rest = restMax + Math.log(restSum); // log sum over the rest of exp(u)
        double teacherRest = hasRest ? Math.max(1 - teacherMass, REST_FLOOR) : 0;
        double logNorm = Math.log(teacherMass + teacherRest);
        for (int c = 0; c < k; c++) {
            logTeacher[c] = teacherLogProbs[c] - logNorm;
        }
        int categories = k;
        if (hasRest) {
            logStudent[k] = rest - all;
            logTeacher[k] = Math.log(teacherRest) - logNorm;
            categories = k + 1;
        }
        double value = categories(categories);
        double total = sum(h, categories);
        for (int j = 0; j < vocab; j++) {
            if (!inSupport[j]) {
                // token j's share of the rest bucket times the bucket's h, minus p_s,j * H
                dStudent[j] = (Math.exp(scaled[j] - rest) * h[k] - Math.exp(scaled[j] - all) * total) / temperature;
            }
        }
        for (int c = 0; c < k; c++) {
            int id = ids[c];
            dStudent[id] = (h[c] - Math.exp(logStudent[c]) * total) / temperature;
            inSupport[id] = false;
        }
        return value;
    }

    /** J over the first {@code n} categories of logStudent/logTeacher; fills h. */
    private double categories(int n) {
        double beta = loss.beta();
        double value = 0;
        switch (loss.divergence()) {
            case FORWARD_KL -> {
                for (int c = 0; c < n; c++) {
                    double teacher = Math.exp(logTeacher[c]);
                    if (teacher > 0) {
                        value += teacher * (logTeacher[c] - logStudent[c]);
                    }
                    h[c] = -teacher;
                }
            }
            case REVERSE_KL -> {
                for (int c = 0; c < n; c++) {
                    double student = Math.exp(logStudent[c]);
                    double term = student > 0 ? student * (logStudent[c] - logTeacher[c]) : 0;
                    value += term;
                    h[c] = term;
                }
            }
            case JSD -> {
                double logBeta = Math.log(beta);
                double logOneMinusBeta = Math.log1p(-beta);
                for (int c = 0; c < n; c++) {
                    double logMix = logAddExp(logOneMinusBeta + logStudent[c], logBeta + logTeacher[c]);
                    double teacher = Math.exp(logTeacher[c]);
                    double student = Math.exp(logStudent[c]);
                    double studentTerm = student > 0 ? student * (logStudent[c] - logMix) : 0;
                    if (teacher > 0) {
                        value += beta * teacher * (logTeacher[c] - logMix);
                    }
                    value += (1 - beta) * studentTerm;
                    h[c] = (1 - beta) * studentTerm;
                }
            }
            default -> throw new IllegalStateException(loss.divergence().toString());
        }
        return value;
    }

    private void ensure(int size) {
        if (scaled.length < size) {
            scaled = new double[size];
            inSupport = new boolean[size];
            logStudent = new double[size];
            logTeacher = new double[size];
            h = new double[size];
        }
    }

    /** Writes logits / temperature into out and returns their log-sum-exp. */
    private static double logSumExp(double[] logits, double temperature, double[] out) {
        for (int j = 0; j < logits.length; j++) {
            out[j] = logits[j] / temperature;
        }
        return logSumExp(out, logits.length);
    }

    private static double logSumExp(double[] values, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, values[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += Math.exp(values[j] - max);
        }
        return max + Math.log(sum);
    }

    private static double logAddExp(double a, double b) {
        if (a == Double.NEGATIVE_INFINITY) {
            return b;
        }
        if (b == Double.NEGATIVE_INFINITY) {
            return a;
        }
        double max = Math.max(a, b);
        return max + Math.log1p(Math.exp(-Math.abs(a - b)));
    }

    private static double sum(double[] values, int n) {
        double total = 0;
        for (int c = 0; c < n; c++) {
            total += values[c];
        }
        return total;
    }
}
