package io.whetstone.models;

import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Central finite differences in double precision against an analytic gradient. */
public final class GradientCheck {

    /** Step of the central difference: truncation (~h^2) and roundoff (~1e-16/h) errors both ~1e-10. */
    public static final double STEP = 1e-5;

    /**
     * Differences below this are roundoff, not bugs: a wrong derivative is off by the size of the
     * gradient itself, while a correct one near a zero crossing has a tiny absolute, large relative error.
     */
    public static final double MIN_ABSOLUTE_ERROR = 1e-8;

    private GradientCheck() {
    }

    /**
     * The largest error over the checked elements of {@code parameter}, where the error of one element
     * is |analytic - numeric| / (|analytic| + |numeric|), or 0 when |analytic - numeric| is below
     * {@link #MIN_ABSOLUTE_ERROR}. Checks at most {@code maxElements}
     * elements, spread evenly over the array.
     */
    public static double maxRelativeError(INDArray parameter, INDArray analytic, DoubleSupplier loss,
                                          int maxElements) {
        return maxRelativeError(parameter, analytic, loss, maxElements, STEP);
    }

    /**
     * As {@link #maxRelativeError(INDArray, INDArray, DoubleSupplier, int)} with central differences of
     * {@code step}: a smaller step for a loss whose curvature makes the h^2 truncation error show (halving the
     * step must cut a truncation error by four; a wrong derivative does not move).
     */
    public static double maxRelativeError(INDArray parameter, INDArray analytic, DoubleSupplier loss,
                                          int maxElements, double step) {
        if (parameter.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException("gradient checks run in double, got " + parameter.dataType());
        }
        long length = parameter.length();
        long stride = Math.max(1, length / maxElements);
        double worst = 0;
        for (long i = 0; i < length; i += stride) {
            long index = parameter.offset() - parameter.data().originalOffset() + i;
            double original = parameter.data().getDouble(index);
            parameter.data().put(index, original + step);
            double plus = loss.getAsDouble();
            parameter.data().put(index, original - step);
            double minus = loss.getAsDouble();
            parameter.data().put(index, original);
            double numeric = (plus - minus) / (2 * step);
            double exact = analytic.data().getDouble(analytic.offset() - analytic.data().originalOffset() + i);
            double difference = Math.abs(exact - numeric);
            double error = difference < MIN_ABSOLUTE_ERROR ? 0 : difference / (Math.abs(exact) + Math.abs(numeric));
            if (error > worst && System.getenv("GRADCHECK_DEBUG") != null) {
                System.out.println("element " + i + " analytic " + exact + " numeric " + numeric);
            }
            worst = Math.max(worst, error);
        }
        return worst;
    }

    /** sum(weights * values): a random linear functional that makes any output a scalar loss. */
    public static double dot(INDArray weights, INDArray values) {
        return weights.castTo(DataType.DOUBLE).reshape(weights.length())
                .mul(values.castTo(DataType.DOUBLE).reshape(values.length())).sumNumber().doubleValue();
    }
}
