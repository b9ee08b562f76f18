package io.whetstone.models.rl;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Entropy of the next-token distribution, H = logsumexp(z) - sum softmax(z) z, from a row of logits.
 * A diagnostic (collapse shows as falling entropy), computed in double from the logits of a forward pass.
 */
public final class TokenEntropy {

    private TokenEntropy() {
    }

    /** The entropy of row {@code row} of {@code logits} [N, V]. */
    public static double of(INDArray logits, int row) {
        int vocab = (int) logits.columns();
        double[] z = new double[vocab];
        if (logits.dataType() == DataType.FLOAT && logits.ordering() == 'c') {
            FloatBuffer buffer = logits.data().asNioFloat();
            int base = (int) logits.offset() + row * vocab;
            for (int v = 0; v < vocab; v++) {
                z[v] = buffer.get(base + v);
            }
        } else {
            for (int v = 0; v < vocab; v++) {
                z[v] = logits.getDouble(row, v);
            }
        }
        return of(z);
    }

    /** The entropy of the softmax of {@code z}. */
    public static double of(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double value : z) {
            max = Math.max(max, value);
        }
        double sum = 0;
        double weighted = 0;
        for (double value : z) {
            double e = Math.exp(value - max);
            sum += e;
            weighted += e * (value - max);
        }
        return Math.log(sum) - weighted / sum;
    }
}
