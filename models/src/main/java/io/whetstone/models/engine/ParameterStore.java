package io.whetstone.models.engine;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * All parameters of a model in one flat vector, and their gradients in another of the same layout;
 * each tensor is a view into them, so optimisers and parameter averaging see one array while layers
 * see shaped tensors. Views are created once.
 */
public final class ParameterStore {

    private final ParameterLayout layout;
    private final DataType dataType;
    private final INDArray params;
    private final INDArray grads;
    /** The frozen matrices [0, decayedLength) when kept in another type than {@code params}; else null. */
    private final INDArray frozen;
    private final Map<String, INDArray> paramViews = new HashMap<>();
    private final Map<String, INDArray> gradViews = new HashMap<>();

    /** Zero-filled parameters and gradients of {@code layout} in {@code dataType}. */
    public ParameterStore(ParameterLayout layout, DataType dataType) {
        this(layout, dataType, false);
    }

    /**
     * As {@link #ParameterStore(ParameterLayout, DataType)}; with {@code frozenMatrices} the decayed tensors (the
     * matrices of a base that LoRA keeps frozen: their gradients are never computed) get no gradient storage,
     * which halves a frozen model's memory. {@link #gradient} is then null for them, and {@link #grads} covers
     * only the other tensors (norms, biases), in layout order.
     */
    public ParameterStore(ParameterLayout layout, DataType dataType, boolean frozenMatrices) {
        this(layout, dataType, frozenMatrices, dataType);
    }

    /**
     * As {@link #ParameterStore(ParameterLayout, DataType, boolean)}, the frozen matrices kept in
     * {@code frozenStorage} (BFLOAT16 or HALF halve them again; layers read them through {@link FrozenWeights},
     * computing in {@code dataType}). Such a store has no single flat vector: {@link #params} covers the tensors
     * after the matrices, and {@link #load} fills all of it.
     */
    public ParameterStore(ParameterLayout layout, DataType dataType, boolean frozenMatrices, DataType frozenStorage) {
        if (layout.length() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("models above 2^31 parameters are not supported: " + layout.length());
        }
        this.layout = layout;
        this.dataType = dataType;
        long gradientStart = frozenMatrices ? layout.decayedLength() : 0;
        boolean split = frozenMatrices && frozenStorage != dataType && layout.decayedLength() > 0;
        long splitAt = split ? layout.decayedLength() : 0;
        this.frozen = split ? Nd4j.zeros(frozenStorage, splitAt) : null;
        this.params = Nd4j.zeros(dataType, Math.max(1, layout.length() - splitAt));
        this.grads = Nd4j.zeros(dataType, Math.max(1, layout.length() - gradientStart));
        for (TensorSpec spec : layout.tensors()) {
            boolean matrix = layout.offset(spec.name()) < splitAt;
            paramViews.put(spec.name(), matrix ? view(frozen, spec, 0) : view(params, spec, splitAt));
            if (layout.offset(spec.name()) >= gradientStart) {
                gradViews.put(spec.name(), view(grads, spec, gradientStart));
            }
        }
    }

    /** Sets every parameter from the flat vector {@code values} [P] (the frozen matrices rounded to their type). */
    public void load(float[] values) {
        if (values.length != layout.length()) {
            throw new IllegalArgumentException("expected " + layout.length() + " parameters, got " + values.length);
        }
        if (frozen == null) {
            params.assign(Nd4j.createFromArray(values).castTo(dataType));
            return;
        }
        int split = (int) frozen.length();
        int chunk = 1 << 22; // cast in pieces: no full-size fp32 temporary beside the half-size store
        for (int from = 0; from < split; from += chunk) {
            int to = Math.min(split, from + chunk);
            frozen.get(NDArrayIndex.interval(from, to)).assign(
                    Nd4j.createFromArray(java.util.Arrays.copyOfRange(values, from, to)).castTo(frozen.dataType()));
        }
        if (values.length > split) {
            params.assign(Nd4j.createFromArray(java.util.Arrays.copyOfRange(values, split, values.length))
                    .castTo(dataType));
        }
    }

    /** Sets every parameter from {@code frozen}: half-precision matrices are copied as they are, without an fp32 copy. */
    public void load(FrozenParams values) {
        if (!values.packed()) {
            load(values.full());
            return;
        }
        if (frozen == null || frozen.dataType() != values.storage() || frozen.length() != values.matrices().length) {
            load(values.toFloats());
            return;
        }
        frozen.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asShortBuffer().put(values.matrices());
        if (values.rest().length > 0) {
            params.assign(Nd4j.createFromArray(values.rest()).castTo(dataType));
        }
    }

    /** Bytes the parameters take (frozen matrices in their own type), for memory reports and tests. */
    public long parameterBytes() {
        return params.length() * params.dataType().width() + (frozen == null ? 0 : frozen.length()
                * frozen.dataType().width());
    }

    private INDArray view(INDArray flat, TensorSpec spec, long start) {
        long offset = layout.offset(spec.name()) - start;
        return flat.get(NDArrayIndex.interval(offset, offset + spec.length())).reshape(spec.shape());
    }

    /** Fills every tensor as its spec says, from a generator seeded with (seed, tensor index). */
    public void initialize(long seed) {
        int index = 0;
        for (TensorSpec spec : layout.tensors()) {
            INDArray view = paramViews.get(spec.name());
            switch (spec.init()) {
                case ZEROS -> view.assign(0);
                case ONES -> view.assign(1);
                case NORMAL -> fillNormal(layout.offset(spec.name()), spec.length(), spec.std(),
                        new Random(seed * 1_000_003L + index));
                default -> throw new IllegalStateException("unknown init " + spec.init());
            }
            index++;
        }
    }

    /** Writes N(0, std^2) values into params[offset, offset+length) in chunks, so no tensor-sized temporary. */
    private void fillNormal(long offset, long length, double std, Random random) {
        int chunk = 1 << 20;
        float[] values = new float[(int) Math.min(chunk, length)];
        for (long done = 0; done < length; done += values.length) {
            int n = (int) Math.min(values.length, length - done);
            for (int i = 0; i < n; i++) {
                values[i] = (float) (random.nextGaussian() * std);
            }
            INDArray source = Nd4j.createFromArray(n == values.length ? values : java.util.Arrays.copyOf(values, n));
            if (frozen != null && offset < frozen.length()) {
                frozen.get(NDArrayIndex.interval(offset + done, offset + done + n)).assign(
                        source.castTo(frozen.dataType()));
            } else {
                long at = offset - (frozen == null ? 0 : frozen.length());
                params.get(NDArrayIndex.interval(at + done, at + done + n)).assign(source.castTo(dataType));
            }
        }
    }

    public ParameterLayout layout() {
        return layout;
    }

    public DataType dataType() {
        return dataType;
    }

    /**
     * The flat parameter vector [P]; where the frozen matrices are kept in another type ({@link #splitStorage})
     * only the tensors after them: fill such a store with {@link #load}.
     */
    public INDArray params() {
        return params;
    }

    /** Whether the frozen matrices are kept in another type than the rest ({@link #params} does not hold them). */
    public boolean splitStorage() {
        return frozen != null;
    }

    /** The flat gradient vector [P], same layout (without the frozen matrices' part, see the constructor). */
    public INDArray grads() {
        return grads;
    }

    /** The parameter tensor {@code name} (a view). */
    public INDArray tensor(String name) {
        INDArray view = paramViews.get(name);
        if (view == null) {
            throw new IllegalArgumentException("no tensor named " + name);
        }
        return view;
    }

    /** The gradient of tensor {@code name} (a view), or null for a frozen matrix (no gradient storage). */
    public INDArray gradient(String name) {
        if (!paramViews.containsKey(name)) {
            throw new IllegalArgumentException("no tensor named " + name);
        }
        return gradViews.get(name);
    }

    /** Sets every gradient to zero. */
    public void zeroGrads() {
        grads.assign(0);
    }
}
