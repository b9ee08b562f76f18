package io.whetstone.models.generate;

import io.whetstone.models.kernels.VectorMath;
import jdk.incubator.vector.FloatVector;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy (the first maximum), or sampled after temperature,
 * top-k and top-p. Returns the token with its log-probability under the model (log-softmax of the raw
 * logits) and under the distribution it was drawn from.
 */
final class TokenChooser {

    private TokenChooser() {
    }

    /**
     * {token, model log-prob, sampler log-prob, sampler entropy} for logits[0, vocab) (entropy in nats; 0 for
     * greedy). The common case (temperature 1, no top-k or
     * top-p) takes one vectorised exp pass: the softmax's terms are both its normaliser and the sampling weights
     * ({@link #reference} is the plain two-pass version a test compares it with). {@code logits} must have room
     * for whole vectors ({@code VectorMath.padded(vocab)}); the tail is overwritten.
     */
    static float[] choose(float[] logits, int vocab, SamplingConfig sampling, SplittableRandom random) {
        if (sampling.greedy() || sampling.temperature() != 1.0 || sampling.topK() > 0 || sampling.topP() < 1
                || logits.length < VectorMath.padded(vocab)) {
            return reference(logits, vocab, sampling, random);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[i]);
        }
        int padded = VectorMath.padded(vocab);
        java.util.Arrays.fill(logits, vocab, padded, Float.NEGATIVE_INFINITY);
        float[] weights = SCRATCH.get();
        if (weights.length < padded) {
            weights = new float[padded];
            SCRATCH.set(weights);
        }
        double total = 0;
        for (int i = 0; i < padded; i += VectorMath.LANES) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(VectorMath.SPECIES, logits, i).sub(max));
            e.intoArray(weights, i);
            total += VectorMath.addLanes(e);
        }
        double logZ = max + Math.log(total);
        double u = random.nextDouble() * total;
        int chosen = vocab - 1;
        double cumulative = 0;
        for (int i = 0; i < vocab; i++) {
            cumulative += weights[i];
            if (u < cumulative) {
                chosen = i;
                break;
            }
        }
        float logProb = (float) (logits[chosen] - logZ);
        // entropy = log Z' - sum_i e_i (x_i - max) / Z', with Z' = sum_i e_i (the padded tail has e = 0, x = -inf)
        double weighted = 0;
        int bound = VectorMath.SPECIES.loopBound(vocab);
        int i = 0;
        for (; i < bound; i += VectorMath.LANES) {
            FloatVector e = FloatVector.fromArray(VectorMath.SPECIES, weights, i);
            weighted += VectorMath.addLanes(e.mul(FloatVector.fromArray(VectorMath.SPECIES, logits, i).sub(max)));
        }
        for (; i < vocab; i++) {
            weighted += weights[i] * (logits[i] - max);
        }
        return new float[] {chosen, logProb, logProb, (float) (Math.log(total) - weighted / total)};
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /** The plain version: double-precision softmax, then the sampling weights after temperature, top-k, top-p. */
    static float[] reference(float[] logits, int vocab, SamplingConfig sampling, SplittableRandom random) {
        double max = Double.NEGATIVE_INFINITY;
        int argmax = 0;
        for (int i = 0; i < vocab; i++) {
            if (logits[i] > max) {
                max = logits[i];
                argmax = i;
            }
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[i] - max);
        }
        double logZ = max + Math.log(sum);
        if (sampling.greedy()) {
            return new float[] {argmax, (float) (logits[argmax] - logZ), 0f, 0f};
        }
        double temperature = sampling.temperature();
        int[] order = null;
        int kept = vocab;
        if (sampling.topK() > 0 || sampling.topP() < 1) {
            order = descending(logits, vocab);
            if (sampling.topK() > 0) {
                kept = Math.min(kept, sampling.topK());
            }
        }
        double scaledMax = max / temperature;
        double[] weights = new double[kept];
        double total = 0;
        for (int r = 0; r < kept; r++) {
            int id = order == null ? r : order[r];
            weights[r] = Math.exp(logits[id] / temperature - scaledMax);
            total += weights[r];
        }
        if (sampling.topP() < 1) {
            double cumulative = 0;
            int cut = kept;
            for (int r = 0; r < kept; r++) {
                cumulative += weights[r];
                if (cumulative >= sampling.topP() * total) {
                    cut = r + 1;
                    break;
                }
            }
            kept = cut;
            total = 0;
            for (int r = 0; r < kept; r++) {
                total += weights[r];
            }
        }
        double u = random.nextDouble() * total;
        int chosen = kept - 1;
        double cumulative = 0;
        for (int r = 0; r < kept; r++) {
            cumulative += weights[r];
            if (u < cumulative) {
                chosen = r;
                break;
            }
        }
        int token = order == null ? chosen : order[chosen];
        // the sampled distribution q_r = w_r / total over the kept ids, log w_r = logit / T - scaledMax
        double weighted = 0;
        for (int r = 0; r < kept; r++) {
            int id = order == null ? r : order[r];
            weighted += weights[r] * (logits[id] / temperature - scaledMax);
        }
        return new float[] {token, (float) (logits[token] - logZ), (float) Math.log(weights[chosen] / total),
                (float) (Math.log(total) - weighted / total)};
    }

    /** Ids sorted by logit, largest first (ties: smaller id first). */
    static int[] descending(float[] logits, int vocab) {
        long[] keys = new long[vocab];
        for (int i = 0; i < vocab; i++) {
            keys[i] = ((long) sortable(-logits[i]) << 32) | i;
        }
        Arrays.sort(keys);
        int[] order = new int[vocab];
        for (int i = 0; i < vocab; i++) {
            order[i] = (int) keys[i];
        }
        return order;
    }

    /** An int whose signed order is the float's order (-0 before +0, NaN last). */
    private static int sortable(float value) {
        int bits = Float.floatToIntBits(value);
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }
}
