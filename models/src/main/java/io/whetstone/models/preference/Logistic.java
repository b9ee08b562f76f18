package io.whetstone.models.preference;

/** The logistic function and its logarithm, stable for large |x|. */
final class Logistic {

    private Logistic() {
    }

    static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    /** log sigmoid(x) = -log(1 + e^-x). */
    static double logSigmoid(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }
}
