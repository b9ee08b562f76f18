package io.whetstone.models.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector math whose results do not depend on whether the JIT has compiled the caller: only IEEE-exact
 * lane operations (fma, mul, add, compare, bit reinterpretation) and fixed-order lane sums. The Vector
 * API's own EXP (SVML when compiled, Math.exp per lane when interpreted) and reduceLanes(ADD) (order
 * unspecified) differ in the last bit between the two, which made a retried Spark task disagree with
 * its first attempt. Needs {@code --add-modules jdk.incubator.vector}.
 */
public final class VectorMath {

    /** The preferred float species of this CPU. */
    public static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Lanes per vector. */
    public static final int LANES = SPECIES.length();

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = -2.12194440e-4f;
    private static final float EXP_MAX = 88.3762626647949f;
    private static final float EXP_MIN = -87.3365447504f;
    private static final float ROUNDING = 12582912f; // 1.5 * 2^23: adding it rounds to an integer

    private VectorMath() {
    }

    /** n rounded up to a whole number of vectors. */
    public static int padded(int n) {
        return (n + LANES - 1) / LANES * LANES;
    }

    /**
     * The lanes' sum, added in lane order. Lane by lane rather than through an array: C2 unrolls the
     * constant-length loop into register extracts (a thread-local scratch array cost a lookup per call,
     * 8% of the GPT-2 A step's Java samples in JFR).
     */
    public static float addLanes(FloatVector vector) {
        float sum = 0f;
        for (int i = 0; i < LANES; i++) {
            sum += vector.lane(i);
        }
        return sum;
    }

    /**
     * exp(x) lane-wise (Cephes' expf: x = n ln2 + r, |r| <= ln2/2, a degree-7 polynomial for e^r, times
     * 2^n). Within a few ulp of Math.exp; 0 below e^-87.3 and capped at e^88.4.
     */
    public static FloatVector exp(FloatVector x) {
        FloatVector clamped = x.min(EXP_MAX).max(EXP_MIN);
        FloatVector shifted = clamped.fma(FloatVector.broadcast(SPECIES, LOG2E), FloatVector.broadcast(SPECIES, ROUNDING));
        FloatVector n = shifted.sub(ROUNDING);
        FloatVector r = n.fma(FloatVector.broadcast(SPECIES, -LN2_HIGH), clamped);
        r = n.fma(FloatVector.broadcast(SPECIES, -LN2_LOW), r);
        FloatVector p = r.fma(FloatVector.broadcast(SPECIES, 1.9875691500e-4f),
                FloatVector.broadcast(SPECIES, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(SPECIES, 5.0000001201e-1f));
        p = p.fma(r.mul(r), r).add(1f);
        // 2^n: the integer n sits in the low mantissa bits of `shifted`; move it into the exponent field.
        FloatVector scale = shifted.reinterpretAsInts()
                .sub(Float.floatToRawIntBits(ROUNDING) - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale).blend(0f, x.lt(EXP_MIN));
    }

    /** sum of a[i] * b[i] for i < n over arrays padded to whole vectors, in a fixed order. */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        for (int i = 0; i < n; i += LANES) {
            acc = FloatVector.fromArray(SPECIES, a, aOffset + i).fma(FloatVector.fromArray(SPECIES, b, bOffset + i),
                    acc);
        }
        return addLanes(acc);
    }
}
