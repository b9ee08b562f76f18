package io.whetstone.models.kernels;

import java.nio.FloatBuffer;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The fast path on CPU: each kernel is one pass over ND4J's host memory, fp32, vectorised with the JDK
 * Vector API (its {@code EXP} runs at about 0.3 ns per element here, where {@code Math.exp} takes 14 ns;
 * chains of ND4J ops cost 15-150 us per call). Exponentials and lane sums come from {@link VectorMath}, whose
 * results are the same interpreted or compiled, so a retried task reproduces its first attempt bit for bit. Rows are copied in bulk into per-thread scratch arrays
 * padded to whole vectors, computed there, and copied back, so no loop needs a scalar tail.
 *
 * <p>Needs {@code --add-modules jdk.incubator.vector}; {@link KernelChoice} checks for it before this
 * class is loaded. Every method has a twin in {@link ReferenceKernels} that the tests compare it with.
 */
public final class FusedCpuKernels implements Kernels, AutoCloseable {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = S.length();
    private static final float GELU_C = (float) Math.sqrt(2.0 / Math.PI);
    private static final float GELU_A = 0.044715f;
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);
    /** FIRST_LANES[k]: the first k lanes. */
    @SuppressWarnings("unchecked")
    private static final VectorMask<Float>[] FIRST_LANES = new VectorMask[LANES + 1];

    static {
        for (int k = 0; k <= LANES; k++) {
            FIRST_LANES[k] = S.indexInRange(0, k);
        }
    }

    private final RowParallel parallel;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /** Kernels that split rows over {@code threads} threads (the caller counts as one). */
    public FusedCpuKernels(int threads) {
        this(threads, RowParallel.DEFAULT_MIN_PARALLEL_WORK);
    }

    /** As above, splitting any call with at least {@code minParallelWork} elements (tests use 1). */
    public FusedCpuKernels(int threads, long minParallelWork) {
        this.parallel = new RowParallel(threads, minParallelWork);
    }

    /** Per-thread row buffers, grown on demand; each is at least a whole number of vectors long. */
    private static final class Scratch {
        float[] a = new float[0];
        float[] b = new float[0];
        float[] c = new float[0];
        float[] d = new float[0];

        float[] a(int n) {
            return a.length >= padded(n) ? a : (a = new float[padded(n)]);
        }

        float[] b(int n) {
            return b.length >= padded(n) ? b : (b = new float[padded(n)]);
        }

        float[] c(int n) {
            return c.length >= padded(n) ? c : (c = new float[padded(n)]);
        }

        float[] d(int n) {
            return d.length >= padded(n) ? d : (d = new float[padded(n)]);
        }
    }

    private static int padded(int n) {
        return (n + LANES - 1) / LANES * LANES;
    }

    private static FloatBuffer host(INDArray array) {
        if (array.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("fused CPU kernels run in fp32, got " + array.dataType());
        }
        return array.data().asNioFloat();
    }

    private static int base(INDArray array) {
        return (int) array.offset();
    }

    private static int cols(INDArray matrix) {
        return (int) matrix.size(matrix.rank() - 1);
    }

    private static int rows(INDArray matrix) {
        return (int) (matrix.length() / cols(matrix));
    }

    /** Copies n floats from buf[index] into dst and fills the padding up to a whole vector with pad. */
    private static void load(FloatBuffer buf, int index, float[] dst, int n, float pad) {
        buf.get(index, dst, 0, n);
        Arrays.fill(dst, n, padded(n), pad);
    }

    /**
     * The lanes of the vector at i that lie below n. From a table: on JDK 17 indexInRange is not an intrinsic
     * and allocates a boolean[] and a mask per call (most of the GPT-2 A step's allocation samples in JFR).
     */
    private static VectorMask<Float> tail(int i, int n) {
        return FIRST_LANES[Math.max(0, Math.min(LANES, n - i))];
    }

    private static float sum(float[] a, int n) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < n; i += LANES) {
            acc = acc.add(FloatVector.fromArray(S, a, i), tail(i, n));
        }
        return addLanes(acc);
    }

    private static float max(float[] a, int n) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i += LANES) {
            acc = acc.lanewise(VectorOperators.MAX, FloatVector.fromArray(S, a, i), tail(i, n));
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    private static float dot(float[] a, float[] b, int n) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < n; i += LANES) {
            acc = acc.add(FloatVector.fromArray(S, a, i).mul(FloatVector.fromArray(S, b, i)), tail(i, n));
        }
        return addLanes(acc);
    }

    private static float addLanes(FloatVector vector) {
        return VectorMath.addLanes(vector);
    }

    static FloatVector exp(FloatVector x) {
        return VectorMath.exp(x);
    }

    /** 1 / (1 + exp(-x)), lane-wise. */
    private static FloatVector sigmoid(FloatVector x) {
        return ONE.div(exp(x.neg()).add(1f));
    }

    // ---------------------------------------------------------------- embedding

    @Override
    public void embed(int[] tokens, INDArray table, INDArray positions, int seqLen, INDArray out) {
        FloatBuffer tableBuf = host(table);
        FloatBuffer positionBuf = positions == null ? null : host(positions);
        FloatBuffer outBuf = host(out);
        int width = cols(table);
        parallel.run(tokens.length, width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] position = s.b(width);
            for (int n = start; n < end; n++) {
                load(tableBuf, base(table) + tokens[n] * width, row, width, 0f);
                if (positionBuf != null) {
                    load(positionBuf, base(positions) + (n % seqLen) * width, position, width, 0f);
                    for (int i = 0; i < width; i += LANES) {
                        FloatVector.fromArray(S, row, i).add(FloatVector.fromArray(S, position, i)).intoArray(row, i);
                    }
                }
                outBuf.put(base(out) + n * width, row, 0, width);
            }
        });
    }

    @Override
    public void embedBackward(int[] tokens, INDArray dOut, INDArray dTable, INDArray dPositions, int seqLen) {
        // One thread: rows with the same token would race, and this pass is small next to the GEMMs.
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer dTableBuf = host(dTable);
        FloatBuffer dPositionBuf = dPositions == null ? null : host(dPositions);
        int width = cols(dTable);
        Scratch s = scratch.get();
        float[] grad = s.a(width);
        float[] acc = s.b(width);
        for (int n = 0; n < tokens.length; n++) {
            load(dOutBuf, base(dOut) + n * width, grad, width, 0f);
            addInto(dTableBuf, base(dTable) + tokens[n] * width, grad, acc, width);
            if (dPositionBuf != null) {
                addInto(dPositionBuf, base(dPositions) + (n % seqLen) * width, grad, acc, width);
            }
        }
    }

    /** buf[index .. index+n) += values, using acc as scratch. */
    private static void addInto(FloatBuffer buf, int index, float[] values, float[] acc, int n) {
        load(buf, index, acc, n, 0f);
        for (int i = 0; i < n; i += LANES) {
            FloatVector.fromArray(S, acc, i).add(FloatVector.fromArray(S, values, i)).intoArray(acc, i);
        }
        buf.put(index, acc, 0, n);
    }

    // ---------------------------------------------------------------- norms

    @Override
    public void layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, INDArray out, INDArray mean,
                          INDArray rstd) {
        FloatBuffer xBuf = host(x);
        FloatBuffer outBuf = host(out);
        FloatBuffer meanBuf = host(mean);
        FloatBuffer rstdBuf = host(rstd);
        int width = cols(x);
        float[] g = new float[padded(width)];
        float[] bias = new float[padded(width)];
        host(gamma).get(base(gamma), g, 0, width);
        host(beta).get(base(beta), bias, 0, width);
        parallel.run(rows(x), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            for (int n = start; n < end; n++) {
                load(xBuf, base(x) + n * width, row, width, 0f);
                float mu = sum(row, width) / width;
                FloatVector acc = FloatVector.zero(S);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector centered = FloatVector.fromArray(S, row, i).sub(mu);
                    acc = acc.add(centered.mul(centered), tail(i, width));
                }
                float inverse = (float) (1.0 / Math.sqrt(addLanes(acc) / width + eps));
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, row, i).sub(mu).mul(inverse)
                            .fma(FloatVector.fromArray(S, g, i), FloatVector.fromArray(S, bias, i))
                            .intoArray(row, i);
                }
                outBuf.put(base(out) + n * width, row, 0, width);
                meanBuf.put(base(mean) + n, mu);
                rstdBuf.put(base(rstd) + n, inverse);
            }
        });
    }

    @Override
    public void layerNormBackward(INDArray dOut, INDArray x, INDArray gamma, INDArray mean, INDArray rstd,
                                  INDArray dx, INDArray dGamma, INDArray dBeta) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer xBuf = host(x);
        FloatBuffer dxBuf = host(dx);
        FloatBuffer meanBuf = host(mean);
        FloatBuffer rstdBuf = host(rstd);
        int width = cols(x);
        int rows = rows(x);
        float[] g = new float[padded(width)];
        host(gamma).get(base(gamma), g, 0, width);
        int chunks = parallel.chunks(rows, width);
        float[][] partialGamma = new float[chunks][padded(width)];
        float[][] partialBeta = new float[chunks][padded(width)];
        parallel.run(rows, width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(width);
            float[] xhat = s.b(width);
            float[] dxhat = s.c(width);
            float[] dxRow = s.d(width);
            float[] pg = partialGamma[chunk];
            float[] pb = partialBeta[chunk];
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * width, dy, width, 0f);
                load(xBuf, base(x) + n * width, xhat, width, 0f);
                float mu = meanBuf.get(base(mean) + n);
                float inverse = rstdBuf.get(base(rstd) + n);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector dyv = FloatVector.fromArray(S, dy, i);
                    FloatVector xh = FloatVector.fromArray(S, xhat, i).sub(mu).mul(inverse);
                    xh.intoArray(xhat, i);
                    dyv.mul(FloatVector.fromArray(S, g, i)).intoArray(dxhat, i);
                    dyv.fma(xh, FloatVector.fromArray(S, pg, i)).intoArray(pg, i);
                    dyv.add(FloatVector.fromArray(S, pb, i)).intoArray(pb, i);
                }
                float meanDxhat = sum(dxhat, width) / width;
                float meanDxhatXhat = dot(dxhat, xhat, width) / width;
                load(dxBuf, base(dx) + n * width, dxRow, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector term = FloatVector.fromArray(S, dxhat, i).sub(meanDxhat)
                            .sub(FloatVector.fromArray(S, xhat, i).mul(meanDxhatXhat));
                    term.mul(inverse).add(FloatVector.fromArray(S, dxRow, i)).intoArray(dxRow, i);
                }
                dxBuf.put(base(dx) + n * width, dxRow, 0, width);
            }
        });
        addPartials(partialGamma, dGamma, width);
        addPartials(partialBeta, dBeta, width);
    }

    /** target += sum of the per-chunk partial vectors. */
    private static void addPartials(float[][] partials, INDArray target, int width) {
        float[] total = new float[padded(width)];
        host(target).get(base(target), total, 0, width);
        for (float[] partial : partials) {
            for (int i = 0; i < width; i += LANES) {
                FloatVector.fromArray(S, total, i).add(FloatVector.fromArray(S, partial, i)).intoArray(total, i);
            }
        }
        host(target).put(base(target), total, 0, width);
    }

    @Override
    public void rmsNorm(INDArray x, INDArray weight, double eps, INDArray out, INDArray rstd) {
        FloatBuffer xBuf = host(x);
        FloatBuffer outBuf = host(out);
        FloatBuffer rstdBuf = host(rstd);
        int width = cols(x);
        float[] w = new float[padded(width)];
        host(weight).get(base(weight), w, 0, width);
        parallel.run(rows(x), width, (chunk, start, end) -> {
            float[] row = scratch.get().a(width);
            for (int n = start; n < end; n++) {
                load(xBuf, base(x) + n * width, row, width, 0f);
                float inverse = (float) (1.0 / Math.sqrt(dot(row, row, width) / width + eps));
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, row, i).mul(inverse).mul(FloatVector.fromArray(S, w, i)).intoArray(row, i);
                }
                outBuf.put(base(out) + n * width, row, 0, width);
                rstdBuf.put(base(rstd) + n, inverse);
            }
        });
    }

    @Override
    public void rmsNormBackward(INDArray dOut, INDArray x, INDArray weight, INDArray rstd, INDArray dx,
                                INDArray dWeight) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer xBuf = host(x);
        FloatBuffer dxBuf = host(dx);
        FloatBuffer rstdBuf = host(rstd);
        int width = cols(x);
        int rows = rows(x);
        float[] w = new float[padded(width)];
        host(weight).get(base(weight), w, 0, width);
        float[][] partialWeight = new float[parallel.chunks(rows, width)][padded(width)];
        parallel.run(rows, width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(width);
            float[] xRow = s.b(width);
            float[] dyw = s.c(width);
            float[] dxRow = s.d(width);
            float[] pw = partialWeight[chunk];
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * width, dy, width, 0f);
                load(xBuf, base(x) + n * width, xRow, width, 0f);
                float inverse = rstdBuf.get(base(rstd) + n);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector dyv = FloatVector.fromArray(S, dy, i);
                    FloatVector xv = FloatVector.fromArray(S, xRow, i);
                    dyv.mul(FloatVector.fromArray(S, w, i)).intoArray(dyw, i);
                    dyv.mul(xv).mul(inverse).add(FloatVector.fromArray(S, pw, i)).intoArray(pw, i);
                }
                float meanDot = dot(dyw, xRow, width) / width;
                float cube = inverse * inverse * inverse * meanDot;
                load(dxBuf, base(dx) + n * width, dxRow, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, dyw, i).mul(inverse)
                            .sub(FloatVector.fromArray(S, xRow, i).mul(cube))
                            .add(FloatVector.fromArray(S, dxRow, i)).intoArray(dxRow, i);
                }
                dxBuf.put(base(dx) + n * width, dxRow, 0, width);
            }
        });
        addPartials(partialWeight, dWeight, width);
    }

    // ---------------------------------------------------------------- MLP activations

    @Override
    public void biasGelu(INDArray preact, INDArray bias, INDArray out) {
        FloatBuffer preBuf = host(preact);
        FloatBuffer outBuf = host(out);
        int width = cols(preact);
        float[] b = new float[padded(width)];
        if (bias != null) {
            host(bias).get(base(bias), b, 0, width);
        }
        parallel.run(rows(preact), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] result = s.b(width);
            for (int n = start; n < end; n++) {
                load(preBuf, base(preact) + n * width, row, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector x = FloatVector.fromArray(S, row, i).add(FloatVector.fromArray(S, b, i));
                    x.intoArray(row, i);
                    // 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = c (x + a x^3)
                    FloatVector twoU = x.mul(x).mul(GELU_A).add(1f).mul(x).mul(2 * GELU_C);
                    x.mul(sigmoid(twoU)).intoArray(result, i);
                }
                if (bias != null) {
                    preBuf.put(base(preact) + n * width, row, 0, width);
                }
                outBuf.put(base(out) + n * width, result, 0, width);
            }
        });
    }

    // biasGelu (the sampler's) keeps its loop inside the lambda, the same arithmetic as geluSigmoidRow plus x * s:
    // through the row methods below, generation was no faster (BenchMain A gpt2 2 generate 16, three interleaved
    // pairs, two of them slower).
    @Override
    public void biasGeluWithDerivative(INDArray preact, INDArray bias, INDArray out) {
        FloatBuffer preBuf = host(preact);
        FloatBuffer outBuf = host(out);
        int width = cols(preact);
        float[] b = new float[padded(width)];
        if (bias != null) {
            host(bias).get(base(bias), b, 0, width);
        }
        parallel.run(rows(preact), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] result = s.b(width);
            for (int n = start; n < end; n++) {
                load(preBuf, base(preact) + n * width, row, width, 0f);
                geluSigmoidRow(row, b, result, width);
                geluFromSigmoidRow(row, result, width);
                preBuf.put(base(preact) + n * width, row, 0, width);
                outBuf.put(base(out) + n * width, result, 0, width);
            }
        });
    }

    // gelu(x) = x s, s = sigmoid(2u), u = c (x + a x^3); gelu'(x) = s + 2 x s (1 - s) c (1 + 3 a x^2).
    // Two row methods, not the loop inside the chunk's lambda: written there, the loop took 3-4 ms per call of A's
    // 1024 x 512 inside the training step against 1.0 ms alone (with the kernel warmed alone first, the same step ran
    // it at 1.4 ms: C2 compiled the lambda from the step's profile into slower code), and as one row method it lost
    // the Vector API's intrinsics in one of three runs (JFR: stores through VectorSupport.store, the Java fallback).
    // The sigmoid and slope stay written out: as helpers taking and returning vectors, the forward took 2.6x as
    // long. Same operations in the same order as one loop, so the same bits.

    /** row = row + b (x); s = sigmoid(2u) of it into sigmoid; {@code width} (padded) elements. */
    private static void geluSigmoidRow(float[] row, float[] b, float[] sigmoid, int width) {
        for (int i = 0; i < width; i += LANES) {
            FloatVector x = FloatVector.fromArray(S, row, i).add(FloatVector.fromArray(S, b, i));
            x.intoArray(row, i);
            sigmoid(x.mul(x).mul(GELU_A).add(1f).mul(x).mul(2 * GELU_C)).intoArray(sigmoid, i);
        }
    }

    /** From x in row and s in sigmoidThenGelu: sigmoidThenGelu = gelu(x) = x s, row = gelu'(x). */
    private static void geluFromSigmoidRow(float[] row, float[] sigmoidThenGelu, int width) {
        for (int i = 0; i < width; i += LANES) {
            FloatVector x = FloatVector.fromArray(S, row, i);
            FloatVector sig = FloatVector.fromArray(S, sigmoidThenGelu, i);
            x.mul(sig).intoArray(sigmoidThenGelu, i);
            FloatVector inner = x.mul(x).mul(3 * GELU_A).add(1f).mul(2 * GELU_C);
            sig.neg().add(1f).mul(sig).mul(x).mul(inner).add(sig).intoArray(row, i);
        }
    }

    @Override
    public void geluBackward(INDArray dOut, INDArray derivative, INDArray dPreact, INDArray dBias) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer derivativeBuf = host(derivative);
        FloatBuffer dPreBuf = host(dPreact);
        int width = cols(derivative);
        int rows = rows(derivative);
        float[][] partials = dBias == null ? null : new float[parallel.chunks(rows, width)][padded(width)];
        parallel.run(rows, width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(width);
            float[] slope = s.b(width);
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * width, dy, width, 0f);
                load(derivativeBuf, base(derivative) + n * width, slope, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, dy, i).mul(FloatVector.fromArray(S, slope, i)).intoArray(dy, i);
                }
                if (partials != null) {
                    float[] acc = partials[chunk];
                    for (int i = 0; i < width; i += LANES) {
                        FloatVector.fromArray(S, acc, i).add(FloatVector.fromArray(S, dy, i)).intoArray(acc, i);
                    }
                }
                dPreBuf.put(base(dPreact) + n * width, dy, 0, width);
            }
        });
        if (partials != null) {
            addPartials(partials, dBias, width);
        }
    }

    @Override
    public void swiglu(INDArray gateUp, INDArray out) {
        FloatBuffer inBuf = host(gateUp);
        FloatBuffer outBuf = host(out);
        int hidden = cols(out);
        parallel.run(rows(out), 2L * hidden, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] gate = s.a(hidden);
            float[] up = s.b(hidden);
            for (int n = start; n < end; n++) {
                load(inBuf, base(gateUp) + n * 2 * hidden, gate, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden + hidden, up, hidden, 0f);
                for (int i = 0; i < hidden; i += LANES) {
                    FloatVector g = FloatVector.fromArray(S, gate, i);
                    g.mul(sigmoid(g)).mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
                }
                outBuf.put(base(out) + n * hidden, gate, 0, hidden);
            }
        });
    }

    @Override
    public void swigluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer inBuf = host(gateUp);
        FloatBuffer dInBuf = host(dGateUp);
        int hidden = cols(dOut);
        parallel.run(rows(dOut), 2L * hidden, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(hidden);
            float[] gate = s.b(hidden);
            float[] up = s.c(hidden);
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * hidden, dy, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden, gate, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden + hidden, up, hidden, 0f);
                for (int i = 0; i < hidden; i += LANES) {
                    FloatVector g = FloatVector.fromArray(S, gate, i);
                    FloatVector u = FloatVector.fromArray(S, up, i);
                    FloatVector d = FloatVector.fromArray(S, dy, i);
                    FloatVector sig = sigmoid(g);
                    FloatVector silu = g.mul(sig);
                    // d silu/dg = sig (1 + g (1 - sig))
                    FloatVector dSilu = sig.neg().add(1f).mul(g).add(1f).mul(sig);
                    d.mul(u).mul(dSilu).intoArray(gate, i);
                    d.mul(silu).intoArray(up, i);
                }
                dInBuf.put(base(dGateUp) + n * 2 * hidden, gate, 0, hidden);
                dInBuf.put(base(dGateUp) + n * 2 * hidden + hidden, up, 0, hidden);
            }
        });
    }

    // geglu and its backward repeat swiglu's loop with another activation written inline: a functional
    // parameter in these hot loops would cost the vector code its inlining (the reference kernels share one loop).
    @Override
    public void geglu(INDArray gateUp, INDArray out) {
        FloatBuffer inBuf = host(gateUp);
        FloatBuffer outBuf = host(out);
        int hidden = cols(out);
        parallel.run(rows(out), 2L * hidden, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] gate = s.a(hidden);
            float[] up = s.b(hidden);
            for (int n = start; n < end; n++) {
                load(inBuf, base(gateUp) + n * 2 * hidden, gate, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden + hidden, up, hidden, 0f);
                for (int i = 0; i < hidden; i += LANES) {
                    FloatVector x = FloatVector.fromArray(S, gate, i);
                    // gelu(x) = x * sigmoid(2u), u = c (x + a x^3)
                    FloatVector twoU = x.mul(x).mul(GELU_A).add(1f).mul(x).mul(2 * GELU_C);
                    x.mul(sigmoid(twoU)).mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
                }
                outBuf.put(base(out) + n * hidden, gate, 0, hidden);
            }
        });
    }

    @Override
    public void gegluBackward(INDArray dOut, INDArray gateUp, INDArray dGateUp) {
        FloatBuffer dOutBuf = host(dOut);
        FloatBuffer inBuf = host(gateUp);
        FloatBuffer dInBuf = host(dGateUp);
        int hidden = cols(dOut);
        parallel.run(rows(dOut), 2L * hidden, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] dy = s.a(hidden);
            float[] gate = s.b(hidden);
            float[] up = s.c(hidden);
            for (int n = start; n < end; n++) {
                load(dOutBuf, base(dOut) + n * hidden, dy, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden, gate, hidden, 0f);
                load(inBuf, base(gateUp) + n * 2 * hidden + hidden, up, hidden, 0f);
                for (int i = 0; i < hidden; i += LANES) {
                    FloatVector x = FloatVector.fromArray(S, gate, i);
                    FloatVector u = FloatVector.fromArray(S, up, i);
                    FloatVector d = FloatVector.fromArray(S, dy, i);
                    FloatVector x2 = x.mul(x);
                    FloatVector sig = sigmoid(x2.mul(GELU_A).add(1f).mul(x).mul(2 * GELU_C));
                    // d gelu/dx = s + 2 x s (1 - s) c (1 + 3 a x^2), s = sigmoid(2u)
                    FloatVector inner = x2.mul(3 * GELU_A).add(1f).mul(2 * GELU_C);
                    FloatVector derivative = sig.neg().add(1f).mul(sig).mul(x).mul(inner).add(sig);
                    d.mul(u).mul(derivative).intoArray(gate, i);
                    d.mul(x.mul(sig)).intoArray(up, i);
                }
                dInBuf.put(base(dGateUp) + n * 2 * hidden, gate, 0, hidden);
                dInBuf.put(base(dGateUp) + n * 2 * hidden + hidden, up, 0, hidden);
            }
        });
    }

    // ---------------------------------------------------------------- attention layout and softmax

    @Override
    public void splitHeads(INDArray qkv, INDArray bias, RopeTable rope, AttentionShape shape, INDArray q,
                           INDArray k, INDArray v) {
        FloatBuffer in = host(qkv);
        FloatBuffer qBuf = host(q);
        FloatBuffer kBuf = host(k);
        FloatBuffer vBuf = host(v);
        int width = shape.qkvWidth();
        int size = shape.headSize();
        int half = size / 2;
        int seqLen = shape.seqLen();
        float[] b = new float[padded(width)];
        if (bias != null) {
            host(bias).get(base(bias), b, 0, width);
        }
        FloatBuffer cosBuf = rope == null ? null : host(rope.cos());
        FloatBuffer sinBuf = rope == null ? null : host(rope.sin());
        parallel.run(shape.rows(), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] cos = s.b(half);
            float[] sin = s.c(half);
            for (int n = start; n < end; n++) {
                int batch = n / seqLen;
                int t = n % seqLen;
                load(in, base(qkv) + n * width, row, width, 0f);
                if (bias != null) {
                    for (int i = 0; i < width; i += LANES) {
                        FloatVector.fromArray(S, row, i).add(FloatVector.fromArray(S, b, i)).intoArray(row, i);
                    }
                }
                if (rope != null) {
                    cosBuf.get(base(rope.cos()) + t * half, cos, 0, half);
                    sinBuf.get(base(rope.sin()) + t * half, sin, 0, half);
                    for (int head = 0; head < shape.heads() + shape.kvHeads(); head++) {
                        rotate(row, head * size, cos, sin, half, 1f);
                    }
                }
                for (int kv = 0; kv < shape.kvHeads(); kv++) {
                    for (int g = 0; g < shape.groupSize(); g++) {
                        int head = kv * shape.groupSize() + g;
                        qBuf.put(base(q) + queryOffset(shape, batch, kv, g, t), row, head * size, size);
                    }
                    kBuf.put(base(k) + keyOffset(shape, batch, kv, t), row, (shape.heads() + kv) * size, size);
                    vBuf.put(base(v) + keyOffset(shape, batch, kv, t), row,
                            (shape.heads() + shape.kvHeads() + kv) * size, size);
                }
            }
        });
    }

    private static void rotate(float[] row, int offset, float[] cos, float[] sin, int half, float direction) {
        for (int i = 0; i < half; i++) {
            float c = cos[i];
            float s = direction * sin[i];
            float x0 = row[offset + 2 * i];
            float x1 = row[offset + 2 * i + 1];
            row[offset + 2 * i] = x0 * c - x1 * s;
            row[offset + 2 * i + 1] = x0 * s + x1 * c;
        }
    }

    private static int queryOffset(AttentionShape s, int batch, int kv, int g, int t) {
        return (((batch * s.kvHeads() + kv) * s.groupSize() + g) * s.seqLen() + t) * s.headSize();
    }

    private static int keyOffset(AttentionShape s, int batch, int kv, int t) {
        return ((batch * s.kvHeads() + kv) * s.seqLen() + t) * s.headSize();
    }

    @Override
    public void splitHeadsBackward(INDArray dq, INDArray dk, INDArray dv, RopeTable rope, AttentionShape shape,
                                   INDArray dQkv) {
        FloatBuffer out = host(dQkv);
        FloatBuffer qBuf = host(dq);
        FloatBuffer kBuf = host(dk);
        FloatBuffer vBuf = host(dv);
        int width = shape.qkvWidth();
        int size = shape.headSize();
        int half = size / 2;
        int seqLen = shape.seqLen();
        FloatBuffer cosBuf = rope == null ? null : host(rope.cos());
        FloatBuffer sinBuf = rope == null ? null : host(rope.sin());
        parallel.run(shape.rows(), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(width);
            float[] cos = s.b(half);
            float[] sin = s.c(half);
            for (int n = start; n < end; n++) {
                int batch = n / seqLen;
                int t = n % seqLen;
                for (int kv = 0; kv < shape.kvHeads(); kv++) {
                    for (int g = 0; g < shape.groupSize(); g++) {
                        int head = kv * shape.groupSize() + g;
                        qBuf.get(base(dq) + queryOffset(shape, batch, kv, g, t), row, head * size, size);
                    }
                    kBuf.get(base(dk) + keyOffset(shape, batch, kv, t), row, (shape.heads() + kv) * size, size);
                    vBuf.get(base(dv) + keyOffset(shape, batch, kv, t), row,
                            (shape.heads() + shape.kvHeads() + kv) * size, size);
                }
                if (rope != null) {
                    cosBuf.get(base(rope.cos()) + t * half, cos, 0, half);
                    sinBuf.get(base(rope.sin()) + t * half, sin, 0, half);
                    for (int head = 0; head < shape.heads() + shape.kvHeads(); head++) {
                        rotate(row, head * size, cos, sin, half, -1f);
                    }
                }
                out.put(base(dQkv) + n * width, row, 0, width);
            }
        });
    }

    @Override
    public void mergeHeads(INDArray y, AttentionShape shape, INDArray out) {
        moveHeads(y, shape, out, true);
    }

    @Override
    public void mergeHeadsBackward(INDArray dOut, AttentionShape shape, INDArray dy) {
        moveHeads(dy, shape, dOut, false);
    }

    private void moveHeads(INDArray headMajor, AttentionShape shape, INDArray rowMajor, boolean toRows) {
        FloatBuffer headBuf = host(headMajor);
        FloatBuffer rowBuf = host(rowMajor);
        int size = shape.headSize();
        int width = shape.heads() * size;
        int seqLen = shape.seqLen();
        parallel.run(shape.rows(), width, (chunk, start, end) -> {
            float[] row = scratch.get().a(width);
            for (int n = start; n < end; n++) {
                int batch = n / seqLen;
                int t = n % seqLen;
                if (!toRows) {
                    rowBuf.get(base(rowMajor) + n * width, row, 0, width);
                }
                for (int kv = 0; kv < shape.kvHeads(); kv++) {
                    for (int g = 0; g < shape.groupSize(); g++) {
                        int column = (kv * shape.groupSize() + g) * size;
                        int index = base(headMajor) + queryOffset(shape, batch, kv, g, t);
                        if (toRows) {
                            headBuf.get(index, row, column, size);
                        } else {
                            headBuf.put(index, row, column, size);
                        }
                    }
                }
                if (toRows) {
                    rowBuf.put(base(rowMajor) + n * width, row, 0, width);
                }
            }
        });
    }

    /** Query rows per register tile of the attention micro-kernels (8 accumulators of one vector). */
    private static final int TILE = 8;

    /**
     * Per (batch, kv head) matrix, one task; queries go in tiles of {@link #TILE} rows of one group, so
     * each tile needs keys up to its last position only. Keys are transposed once per matrix, and the
     * score and value products are register-tiled micro-kernels ({@link #tileTimesTransposed},
     * {@link #tileTimesRows}): each loaded vector feeds 8 FMAs into accumulators that stay in
     * registers. Softmax runs on the tile while it is in L1.
     */
    @Override
    public void attention(INDArray q, INDArray k, INDArray v, double scale, AttentionShape shape, INDArray probs,
                          INDArray y) {
        FloatBuffer qBuf = host(q);
        FloatBuffer kBuf = host(k);
        FloatBuffer vBuf = host(v);
        FloatBuffer pBuf = host(probs);
        FloatBuffer yBuf = host(y);
        int seqLen = shape.seqLen();
        int size = shape.headSize();
        int rows = shape.groupSize() * seqLen;
        int seqStride = padded(seqLen);
        int sizeStride = padded(size);
        float factor = (float) scale;
        int matrices = shape.batch() * shape.kvHeads();
        parallel.run(matrices, (long) rows * seqLen * size, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] keysT = s.a(size * seqStride); // [D][Tp]
            float[] values = s.b(seqLen * sizeStride); // [T][Dp]
            // scores | queries | outputs, TILE rows each | queries and probabilities packed (packTile)
            float[] tile = s.c(2 * TILE * seqStride + 3 * TILE * sizeStride);
            int queriesAt = TILE * seqStride;
            int outAt = queriesAt + TILE * sizeStride;
            int queriesPackedAt = outAt + TILE * sizeStride;
            int probsPackedAt = queriesPackedAt + TILE * sizeStride;
            for (int m = start; m < end; m++) {
                loadTransposed(kBuf, base(k) + m * seqLen * size, seqLen, size, keysT, seqStride);
                loadRows(vBuf, base(v) + m * seqLen * size, seqLen, size, values, sizeStride);
                for (int g = 0; g < shape.groupSize(); g++) {
                    for (int t0 = 0; t0 < seqLen; t0 += TILE) {
                        int tileRows = Math.min(TILE, seqLen - t0);
                        int firstRow = m * rows + g * seqLen + t0;
                        int keys = t0 + tileRows; // keys any row of the tile may see
                        int span = padded(keys);
                        Arrays.fill(tile, queriesAt, queriesAt + TILE * sizeStride, 0f);
                        for (int i = 0; i < tileRows; i++) {
                            qBuf.get(base(q) + (firstRow + i) * size, tile, queriesAt + i * sizeStride, size);
                        }
                        packTile(tile, queriesAt, sizeStride, size, tile, queriesPackedAt);
                        tileTimesTransposed(tile, queriesPackedAt, size, keysT, seqStride, span, tile, 0, seqStride);
                        for (int i = 0; i < tileRows; i++) {
                            softmaxRow(tile, i * seqStride, t0 + i + 1, Math.max(span, seqLen), factor);
                            pBuf.put(base(probs) + (firstRow + i) * seqLen, tile, i * seqStride, seqLen);
                        }
                        for (int i = tileRows; i < TILE; i++) {
                            Arrays.fill(tile, i * seqStride, i * seqStride + span, 0f);
                        }
                        packTile(tile, 0, seqStride, keys, tile, probsPackedAt);
                        tileTimesRows(tile, probsPackedAt, keys, values, sizeStride, sizeStride, tile, outAt, sizeStride);
                        for (int i = 0; i < tileRows; i++) {
                            yBuf.put(base(y) + (firstRow + i) * size, tile, outAt + i * sizeStride, size);
                        }
                    }
                }
            }
        });
    }

    /** In place on row[at .. at+fillTo): softmax of factor * x over the first {@code valid}, zeros after. */
    private static void softmaxRow(float[] row, int at, int valid, int fillTo, float factor) {
        FloatVector maxAcc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < valid; i += LANES) {
            FloatVector x = FloatVector.fromArray(S, row, at + i).mul(factor);
            x.intoArray(row, at + i);
            maxAcc = maxAcc.lanewise(VectorOperators.MAX, x, tail(i, valid));
        }
        float max = maxAcc.reduceLanes(VectorOperators.MAX);
        FloatVector sumAcc = FloatVector.zero(S);
        for (int i = 0; i < valid; i += LANES) {
            FloatVector e = exp(FloatVector.fromArray(S, row, at + i).sub(max));
            e.intoArray(row, at + i);
            sumAcc = sumAcc.add(e, tail(i, valid));
        }
        float inverse = 1f / addLanes(sumAcc);
        for (int i = 0; i < valid; i += LANES) {
            FloatVector.fromArray(S, row, at + i).mul(inverse).intoArray(row, at + i);
        }
        Arrays.fill(row, at + valid, at + fillTo, 0f);
    }

    /**
     * dst[dstAt + k * TILE + i] = src[srcAt + i * srcStride + k] for the TILE rows i and k < count: a tile's rows
     * packed column by column, the layout the micro-kernels below read their broadcast operand in. (Read straight
     * from eight rows, the broadcasts cost eight bounds-checked loads at scattered addresses per step: the score
     * product ran at 30 GFLOP/s on one core; packed, its eight loads are adjacent and it runs at 72.)
     */
    private static void packTile(float[] src, int srcAt, int srcStride, int count, float[] dst, int dstAt) {
        for (int i = 0; i < TILE; i++) {
            int from = srcAt + i * srcStride;
            for (int k = 0; k < count; k++) {
                dst[dstAt + k * TILE + i] = src[from + k];
            }
        }
    }

    /**
     * out[i][c] = sum over d < depth of a[i][d] * bT[d][c], for the TILE rows i and columns c < span
     * (span a whole number of vectors). a is packed ({@link #packTile}: a[i][d] at aT[aTAt + d * TILE + i]),
     * bT rows have stride bStride, out rows outStride.
     */
    private static void tileTimesTransposed(float[] aT, int aTAt, int depth, float[] bT, int bStride, int span,
                                            float[] out, int outAt, int outStride) {
        for (int c = 0; c < span; c += LANES) {
            FloatVector acc0 = FloatVector.zero(S);
            FloatVector acc1 = acc0;
            FloatVector acc2 = acc0;
            FloatVector acc3 = acc0;
            FloatVector acc4 = acc0;
            FloatVector acc5 = acc0;
            FloatVector acc6 = acc0;
            FloatVector acc7 = acc0;
            for (int d = 0; d < depth; d++) {
                FloatVector b = FloatVector.fromArray(S, bT, d * bStride + c);
                int ad = aTAt + d * TILE;
                acc0 = b.fma(FloatVector.broadcast(S, aT[ad]), acc0);
                acc1 = b.fma(FloatVector.broadcast(S, aT[ad + 1]), acc1);
                acc2 = b.fma(FloatVector.broadcast(S, aT[ad + 2]), acc2);
                acc3 = b.fma(FloatVector.broadcast(S, aT[ad + 3]), acc3);
                acc4 = b.fma(FloatVector.broadcast(S, aT[ad + 4]), acc4);
                acc5 = b.fma(FloatVector.broadcast(S, aT[ad + 5]), acc5);
                acc6 = b.fma(FloatVector.broadcast(S, aT[ad + 6]), acc6);
                acc7 = b.fma(FloatVector.broadcast(S, aT[ad + 7]), acc7);
            }
            acc0.intoArray(out, outAt + c);
            acc1.intoArray(out, outAt + outStride + c);
            acc2.intoArray(out, outAt + 2 * outStride + c);
            acc3.intoArray(out, outAt + 3 * outStride + c);
            acc4.intoArray(out, outAt + 4 * outStride + c);
            acc5.intoArray(out, outAt + 5 * outStride + c);
            acc6.intoArray(out, outAt + 6 * outStride + c);
            acc7.intoArray(out, outAt + 7 * outStride + c);
        }
    }

    /**
     * out[i][c] = sum over j < count of w[i][j] * b[j][c], for the TILE rows i and c < width (a whole
     * number of vectors). w is packed (w[i][j] at wT[wTAt + j * TILE + i]), b rows have stride bStride, out rows
     * outStride.
     */
    private static void tileTimesRows(float[] wT, int wTAt, int count, float[] b, int bStride, int width,
                                      float[] out, int outAt, int outStride) {
        for (int c = 0; c < width; c += LANES) {
            FloatVector acc0 = FloatVector.zero(S);
            FloatVector acc1 = acc0;
            FloatVector acc2 = acc0;
            FloatVector acc3 = acc0;
            FloatVector acc4 = acc0;
            FloatVector acc5 = acc0;
            FloatVector acc6 = acc0;
            FloatVector acc7 = acc0;
            for (int j = 0; j < count; j++) {
                FloatVector row = FloatVector.fromArray(S, b, j * bStride + c);
                int wj = wTAt + j * TILE;
                acc0 = row.fma(FloatVector.broadcast(S, wT[wj]), acc0);
                acc1 = row.fma(FloatVector.broadcast(S, wT[wj + 1]), acc1);
                acc2 = row.fma(FloatVector.broadcast(S, wT[wj + 2]), acc2);
                acc3 = row.fma(FloatVector.broadcast(S, wT[wj + 3]), acc3);
                acc4 = row.fma(FloatVector.broadcast(S, wT[wj + 4]), acc4);
                acc5 = row.fma(FloatVector.broadcast(S, wT[wj + 5]), acc5);
                acc6 = row.fma(FloatVector.broadcast(S, wT[wj + 6]), acc6);
                acc7 = row.fma(FloatVector.broadcast(S, wT[wj + 7]), acc7);
            }
            acc0.intoArray(out, outAt + c);
            acc1.intoArray(out, outAt + outStride + c);
            acc2.intoArray(out, outAt + 2 * outStride + c);
            acc3.intoArray(out, outAt + 3 * outStride + c);
            acc4.intoArray(out, outAt + 4 * outStride + c);
            acc5.intoArray(out, outAt + 5 * outStride + c);
            acc6.intoArray(out, outAt + 6 * outStride + c);
            acc7.intoArray(out, outAt + 7 * outStride + c);
        }
    }

    /**
     * For j < count: target[j][c] += sum over the TILE rows i of w[i][j] * a[i][c], c < width. w is packed
     * (w[i][j] at wT[wTAt + j * TILE + i]); a's eight row vectors stay in registers while j runs. (dK += dS^T Q
     * and dV += P^T dY for a tile.)
     */
    private static void accumulateTransposedTile(float[] wT, int wTAt, float[] a, int aAt, int aStride, int count,
                                                 int width, float[] target, int targetAt, int targetStride) {
        for (int c = 0; c < width; c += LANES) {
            FloatVector a0 = FloatVector.fromArray(S, a, aAt + c);
            FloatVector a1 = FloatVector.fromArray(S, a, aAt + aStride + c);
            FloatVector a2 = FloatVector.fromArray(S, a, aAt + 2 * aStride + c);
            FloatVector a3 = FloatVector.fromArray(S, a, aAt + 3 * aStride + c);
            FloatVector a4 = FloatVector.fromArray(S, a, aAt + 4 * aStride + c);
            FloatVector a5 = FloatVector.fromArray(S, a, aAt + 5 * aStride + c);
            FloatVector a6 = FloatVector.fromArray(S, a, aAt + 6 * aStride + c);
            FloatVector a7 = FloatVector.fromArray(S, a, aAt + 7 * aStride + c);
            for (int j = 0; j < count; j++) {
                int wj = wTAt + j * TILE;
                int at = targetAt + j * targetStride + c;
                FloatVector acc = FloatVector.fromArray(S, target, at);
                acc = a0.fma(FloatVector.broadcast(S, wT[wj]), acc);
                acc = a1.fma(FloatVector.broadcast(S, wT[wj + 1]), acc);
                acc = a2.fma(FloatVector.broadcast(S, wT[wj + 2]), acc);
                acc = a3.fma(FloatVector.broadcast(S, wT[wj + 3]), acc);
                acc = a4.fma(FloatVector.broadcast(S, wT[wj + 4]), acc);
                acc = a5.fma(FloatVector.broadcast(S, wT[wj + 5]), acc);
                acc = a6.fma(FloatVector.broadcast(S, wT[wj + 6]), acc);
                acc = a7.fma(FloatVector.broadcast(S, wT[wj + 7]), acc);
                acc.intoArray(target, at);
            }
        }
    }

    @Override
    public void attentionBackward(INDArray q, INDArray k, INDArray v, INDArray probs, INDArray dy, double scale,
                                  AttentionShape shape, INDArray dq, INDArray dk, INDArray dv) {
        FloatBuffer qBuf = host(q);
        FloatBuffer kBuf = host(k);
        FloatBuffer vBuf = host(v);
        FloatBuffer pBuf = host(probs);
        FloatBuffer dyBuf = host(dy);
        FloatBuffer dqBuf = host(dq);
        FloatBuffer dkBuf = host(dk);
        FloatBuffer dvBuf = host(dv);
        int seqLen = shape.seqLen();
        int size = shape.headSize();
        int rows = shape.groupSize() * seqLen;
        int seqStride = padded(seqLen);
        int sizeStride = padded(size);
        float factor = (float) scale;
        int matrices = shape.batch() * shape.kvHeads();
        parallel.run(matrices, 2L * rows * seqLen * size, (chunk, start, end) -> {
            Scratch s = scratch.get();
            int block = seqLen * sizeStride;
            // keys [T][Dp] | dK [T][Dp] | dV [T][Dp]
            float[] work = s.a(3 * block);
            int dKeysAt = block;
            int dValuesAt = 2 * block;
            float[] valuesT = s.b(size * seqStride); // [D][Tp]
            // probs | dScores | queries | dY | dQ, TILE rows each | dY, probs and dScores packed (packTile)
            float[] tile = s.c(4 * TILE * seqStride + 4 * TILE * sizeStride);
            int dScoresAt = TILE * seqStride;
            int queriesAt = 2 * TILE * seqStride;
            int dyAt = queriesAt + TILE * sizeStride;
            int dqAt = dyAt + TILE * sizeStride;
            int dyPackedAt = dqAt + TILE * sizeStride;
            int probsPackedAt = dyPackedAt + TILE * sizeStride;
            int dScoresPackedAt = probsPackedAt + TILE * seqStride;
            for (int m = start; m < end; m++) {
                loadRows(kBuf, base(k) + m * seqLen * size, seqLen, size, work, sizeStride);
                loadTransposed(vBuf, base(v) + m * seqLen * size, seqLen, size, valuesT, seqStride);
                Arrays.fill(work, dKeysAt, dValuesAt + block, 0f);
                for (int g = 0; g < shape.groupSize(); g++) {
                    for (int t0 = 0; t0 < seqLen; t0 += TILE) {
                        int tileRows = Math.min(TILE, seqLen - t0);
                        int firstRow = m * rows + g * seqLen + t0;
                        int keys = t0 + tileRows;
                        int span = padded(keys);
                        Arrays.fill(tile, 0, TILE * seqStride, 0f);
                        Arrays.fill(tile, queriesAt, dqAt, 0f);
                        for (int i = 0; i < tileRows; i++) {
                            int row = firstRow + i;
                            pBuf.get(base(probs) + row * seqLen, tile, i * seqStride, t0 + i + 1);
                            qBuf.get(base(q) + row * size, tile, queriesAt + i * sizeStride, size);
                            dyBuf.get(base(dy) + row * size, tile, dyAt + i * sizeStride, size);
                        }
                        // dP = dY V^T, then dS = scale * P * (dP - rowsum(P * dP)) in place
                        packTile(tile, dyAt, sizeStride, size, tile, dyPackedAt);
                        tileTimesTransposed(tile, dyPackedAt, size, valuesT, seqStride, span, tile, dScoresAt,
                                seqStride);
                        for (int i = 0; i < TILE; i++) {
                            int p = i * seqStride;
                            int d = dScoresAt + i * seqStride;
                            FloatVector dotAcc = FloatVector.zero(S);
                            for (int c = 0; c < span; c += LANES) {
                                dotAcc = FloatVector.fromArray(S, tile, p + c)
                                        .fma(FloatVector.fromArray(S, tile, d + c), dotAcc);
                            }
                            float rowDot = addLanes(dotAcc);
                            for (int c = 0; c < span; c += LANES) {
                                FloatVector.fromArray(S, tile, d + c).sub(rowDot)
                                        .mul(FloatVector.fromArray(S, tile, p + c)).mul(factor).intoArray(tile, d + c);
                            }
                        }
                        // dQ = dS K; dK += dS^T Q; dV += P^T dY
                        packTile(tile, dScoresAt, seqStride, keys, tile, dScoresPackedAt);
                        packTile(tile, 0, seqStride, keys, tile, probsPackedAt);
                        tileTimesRows(tile, dScoresPackedAt, keys, work, sizeStride, sizeStride, tile, dqAt,
                                sizeStride);
                        accumulateTransposedTile(tile, dScoresPackedAt, tile, queriesAt, sizeStride, keys,
                                sizeStride, work, dKeysAt, sizeStride);
                        accumulateTransposedTile(tile, probsPackedAt, tile, dyAt, sizeStride, keys, sizeStride, work,
                                dValuesAt, sizeStride);
                        for (int i = 0; i < tileRows; i++) {
                            dqBuf.put(base(dq) + (firstRow + i) * size, tile, dqAt + i * sizeStride, size);
                        }
                    }
                }
                storeRows(work, dKeysAt, sizeStride, dkBuf, base(dk) + m * seqLen * size, seqLen, size);
                storeRows(work, dValuesAt, sizeStride, dvBuf, base(dv) + m * seqLen * size, seqLen, size);
            }
        });
    }

    /** Copies a [rows, size] block into dst as rows of stride paddedSize (padding zeroed). */
    private static void loadRows(FloatBuffer buf, int index, int rows, int size, float[] dst, int paddedSize) {
        for (int r = 0; r < rows; r++) {
            buf.get(index + r * size, dst, r * paddedSize, size);
            Arrays.fill(dst, r * paddedSize + size, (r + 1) * paddedSize, 0f);
        }
    }

    /** Copies a [rows, size] block into dst transposed, [size][paddedRows] (padding zeroed). */
    private static void loadTransposed(FloatBuffer buf, int index, int rows, int size, float[] dst, int paddedRows) {
        Arrays.fill(dst, 0, size * paddedRows, 0f);
        for (int r = 0; r < rows; r++) {
            for (int d = 0; d < size; d++) {
                dst[d * paddedRows + r] = buf.get(index + r * size + d);
            }
        }
    }

    /** Writes rows of stride paddedSize from src[from..] into a [rows, size] block. */
    private static void storeRows(float[] src, int from, int paddedSize, FloatBuffer buf, int index, int rows,
                                  int size) {
        for (int r = 0; r < rows; r++) {
            buf.put(index + r * size, src, from + r * paddedSize, size);
        }
    }

    // ---------------------------------------------------------------- residual and bias

    @Override
    public void addResidual(INDArray residual, INDArray y, INDArray bias, INDArray out) {
        FloatBuffer rBuf = host(residual);
        FloatBuffer yBuf = host(y);
        FloatBuffer outBuf = host(out);
        int width = cols(y);
        float[] b = new float[padded(width)];
        if (bias != null) {
            host(bias).get(base(bias), b, 0, width);
        }
        parallel.run(rows(y), width, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] r = s.a(width);
            float[] yy = s.b(width);
            for (int n = start; n < end; n++) {
                load(rBuf, base(residual) + n * width, r, width, 0f);
                load(yBuf, base(y) + n * width, yy, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, r, i).add(FloatVector.fromArray(S, yy, i))
                            .add(FloatVector.fromArray(S, b, i)).intoArray(r, i);
                }
                outBuf.put(base(out) + n * width, r, 0, width);
            }
        });
    }

    @Override
    public void biasGradient(INDArray dOut, INDArray dBias) {
        FloatBuffer buf = host(dOut);
        int width = cols(dOut);
        int rows = rows(dOut);
        float[][] partials = new float[parallel.chunks(rows, width)][padded(width)];
        parallel.run(rows, width, (chunk, start, end) -> {
            float[] row = scratch.get().a(width);
            float[] acc = partials[chunk];
            for (int n = start; n < end; n++) {
                load(buf, base(dOut) + n * width, row, width, 0f);
                for (int i = 0; i < width; i += LANES) {
                    FloatVector.fromArray(S, acc, i).add(FloatVector.fromArray(S, row, i)).intoArray(acc, i);
                }
            }
        });
        addPartials(partials, dBias, width);
    }

    // ---------------------------------------------------------------- log-probs of targets

    @Override
    public void targetLogProbs(INDArray logits, int[] targets, INDArray logProbs, INDArray logSumExp) {
        FloatBuffer buf = host(logits);
        FloatBuffer lpBuf = host(logProbs);
        FloatBuffer lseBuf = host(logSumExp);
        int vocab = cols(logits);
        parallel.run(targets.length, vocab, (chunk, start, end) -> {
            float[] row = scratch.get().a(vocab);
            for (int n = start; n < end; n++) {
                load(buf, base(logits) + n * vocab, row, vocab, 0f);
                float max = max(row, vocab);
                FloatVector acc = FloatVector.zero(S);
                for (int i = 0; i < vocab; i += LANES) {
                    acc = acc.add(exp(FloatVector.fromArray(S, row, i).sub(max)),
                            tail(i, vocab));
                }
                float lse = max + (float) Math.log(addLanes(acc));
                lseBuf.put(base(logSumExp) + n, lse);
                lpBuf.put(base(logProbs) + n, targets[n] < 0 ? 0f : row[targets[n]] - lse);
            }
        });
    }

    @Override
    public void logitsBackward(INDArray logits, INDArray logSumExp, int[] targets, INDArray dLogProbs,
                               INDArray extraDLogits) {
        FloatBuffer buf = host(logits);
        FloatBuffer lseBuf = host(logSumExp);
        FloatBuffer dlpBuf = host(dLogProbs);
        FloatBuffer extraBuf = extraDLogits == null ? null : host(extraDLogits);
        int vocab = cols(logits);
        parallel.run(targets.length, vocab, (chunk, start, end) -> {
            Scratch s = scratch.get();
            float[] row = s.a(vocab);
            float[] extra = s.b(vocab);
            for (int n = start; n < end; n++) {
                load(buf, base(logits) + n * vocab, row, vocab, 0f);
                if (extraBuf != null) {
                    load(extraBuf, base(extraDLogits) + n * vocab, extra, vocab, 0f);
                } else {
                    Arrays.fill(extra, 0, padded(vocab), 0f);
                }
                float lse = lseBuf.get(base(logSumExp) + n);
                float grad = targets[n] < 0 ? 0f : dlpBuf.get(base(dLogProbs) + n);
                for (int i = 0; i < vocab; i += LANES) {
                    FloatVector p = exp(FloatVector.fromArray(S, row, i).sub(lse));
                    p.mul(-grad).add(FloatVector.fromArray(S, extra, i)).intoArray(row, i);
                }
                if (targets[n] >= 0) {
                    row[targets[n]] += grad;
                }
                buf.put(base(logits) + n * vocab, row, 0, vocab);
            }
        });
    }

    // ---------------------------------------------------------------- optimiser

    /** Elements per task of the AdamW pass: large enough to amortise a task, small enough to balance. */
    private static final int ADAM_BLOCK = 1 << 16;

    @Override
    public void adamW(INDArray params, INDArray grads, INDArray m, INDArray v, long decayedLength, AdamStep step) {
        FloatBuffer pBuf = host(params);
        FloatBuffer gBuf = host(grads);
        FloatBuffer mBuf = host(m);
        FloatBuffer vBuf = host(v);
        int length = (int) params.length();
        int blocks = (length + ADAM_BLOCK - 1) / ADAM_BLOCK;
        float lr = (float) step.learningRate();
        float decay = (float) (1 - step.learningRate() * step.weightDecay());
        float scale = (float) step.gradScale();
        float b1 = (float) step.beta1();
        float b2 = (float) step.beta2();
        float eps = (float) step.epsilon();
        float inverseFirst = (float) (1 / step.firstCorrection());
        float inverseSecond = (float) (1 / step.secondCorrection());
        parallel.run(blocks, ADAM_BLOCK, (chunk, startBlock, endBlock) -> {
            Scratch s = scratch.get();
            float[] p = s.a(ADAM_BLOCK);
            float[] g = s.b(ADAM_BLOCK);
            float[] mm = s.c(ADAM_BLOCK);
            float[] vv = s.d(ADAM_BLOCK);
            for (int block = startBlock; block < endBlock; block++) {
                int start = block * ADAM_BLOCK;
                int n = Math.min(ADAM_BLOCK, length - start);
                load(pBuf, base(params) + start, p, n, 0f);
                load(gBuf, base(grads) + start, g, n, 0f);
                load(mBuf, base(m) + start, mm, n, 0f);
                load(vBuf, base(v) + start, vv, n, 0f);
                int decayedEnd = (int) Math.max(0, Math.min(n, decayedLength - start));
                for (int i = 0; i < n; i += LANES) {
                    FloatVector pv = FloatVector.fromArray(S, p, i);
                    if (i < decayedEnd) {
                        pv = pv.mul(decay, tail(i, decayedEnd));
                    }
                    FloatVector gv = FloatVector.fromArray(S, g, i).mul(scale);
                    FloatVector first = FloatVector.fromArray(S, mm, i).mul(b1).add(gv.mul(1 - b1));
                    FloatVector second = FloatVector.fromArray(S, vv, i).mul(b2).add(gv.mul(gv).mul(1 - b2));
                    first.intoArray(mm, i);
                    second.intoArray(vv, i);
                    FloatVector update = first.mul(inverseFirst)
                            .div(second.mul(inverseSecond).lanewise(VectorOperators.SQRT).add(eps));
                    pv.sub(update.mul(lr)).intoArray(p, i);
                }
                pBuf.put(base(params) + start, p, 0, n);
                mBuf.put(base(m) + start, mm, 0, n);
                vBuf.put(base(v) + start, vv, 0, n);
            }
        });
    }

    /** Elements per block of {@link #sumOfSquares}; blocks are summed in index order. */
    private static final int SQUARES_BLOCK = 1 << 14;

    @Override
    public double sumOfSquares(INDArray vector) {
        FloatBuffer buf = host(vector);
        int length = (int) vector.length();
        int blocks = (length + SQUARES_BLOCK - 1) / SQUARES_BLOCK;
        double[] partial = new double[blocks];
        parallel.run(blocks, SQUARES_BLOCK, (chunk, startBlock, endBlock) -> {
            float[] values = scratch.get().a(SQUARES_BLOCK);
            for (int block = startBlock; block < endBlock; block++) {
                int start = block * SQUARES_BLOCK;
                int n = Math.min(SQUARES_BLOCK, length - start);
                load(buf, base(vector) + start, values, n, 0f);
                FloatVector acc = FloatVector.zero(S);
                for (int i = 0; i < n; i += LANES) {
                    FloatVector v = FloatVector.fromArray(S, values, i);
                    acc = v.fma(v, acc);
                }
                partial[block] = addLanes(acc);
            }
        });
        double sum = 0;
        for (double value : partial) {
            sum += value;
        }
        return sum;
    }

    @Override
    public void close() {
        parallel.close();
    }
}
