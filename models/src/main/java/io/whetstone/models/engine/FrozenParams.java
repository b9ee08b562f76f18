package io.whetstone.models.engine;

import java.io.Serializable;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A frozen model's parameters as they travel to workers (a Spark broadcast): the flat fp32 vector, or, for a base
 * kept in half precision, its weight matrices already rounded to BFLOAT16 or HALF bits and the rest in fp32, so
 * the copy each executor holds costs half too. {@link ParameterStore#load(FrozenParams)} fills a store from it.
 */
public final class FrozenParams implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final int CHUNK = 1 << 22;

    private final float[] full; // null when packed
    private final short[] matrices; // [decayedLength] half bits, or null
    private final float[] rest; // [length - decayedLength], or null
    private final String storage; // the ND4J type name of matrices, or null

    private FrozenParams(float[] full, short[] matrices, float[] rest, String storage) {
        this.full = full;
        this.matrices = matrices;
        this.rest = rest;
        this.storage = storage;
    }

    /** Serialised in bulk ({@link BulkArrays}): a frozen base or teacher is the largest broadcast of a run. */
    private Object writeReplace() {
        return new Wire(this);
    }

    /** The serial form of {@link FrozenParams}: its vectors as raw bytes. */
    public static final class Wire implements java.io.Externalizable {
        private static final long serialVersionUID = 1L;
        private FrozenParams params;

        /** For deserialisation. */
        public Wire() {
        }

        Wire(FrozenParams params) {
            this.params = params;
        }

        @Override
        public void writeExternal(java.io.ObjectOutput out) throws java.io.IOException {
            BulkArrays.writeFloats(out, params.full);
            BulkArrays.writeShorts(out, params.matrices);
            BulkArrays.writeFloats(out, params.rest);
            out.writeObject(params.storage);
        }

        @Override
        public void readExternal(java.io.ObjectInput in) throws java.io.IOException, ClassNotFoundException {
            float[] full = BulkArrays.readFloats(in);
            short[] matrices = BulkArrays.readShorts(in);
            float[] rest = BulkArrays.readFloats(in);
            params = new FrozenParams(full, matrices, rest, (String) in.readObject());
        }

        private Object readResolve() {
            return params;
        }
    }

    /** {@code values} [P] of {@code layout}, the weight matrices packed as {@code storage} when it is half precision. */
    public static FrozenParams of(float[] values, ParameterLayout layout, DataType storage) {
        if (values.length != layout.length()) {
            throw new IllegalArgumentException("expected " + layout.length() + " parameters, got " + values.length);
        }
        if (storage != DataType.BFLOAT16 && storage != DataType.HALF) {
            return new FrozenParams(values, null, null, null);
        }
        int split = (int) layout.decayedLength();
        short[] bits = new short[split];
        for (int from = 0; from < split; from += CHUNK) { // rounded by ND4J, as ParameterStore.load(float[]) rounds
            int to = Math.min(split, from + CHUNK);
            INDArray half = Nd4j.createFromArray(Arrays.copyOfRange(values, from, to)).castTo(storage);
            half.data().asNio().order(ByteOrder.nativeOrder()).asShortBuffer().get(bits, from, to - from);
        }
        return new FrozenParams(null, bits, Arrays.copyOfRange(values, split, values.length), storage.name());
    }

    /** Number of parameters. */
    public long length() {
        return full != null ? full.length : matrices.length + (long) rest.length;
    }

    /** Whether the matrices travel as half-precision bits. */
    public boolean packed() {
        return full == null;
    }

    float[] full() {
        return full;
    }

    short[] matrices() {
        return matrices;
    }

    float[] rest() {
        return rest;
    }

    DataType storage() {
        return storage == null ? DataType.FLOAT : DataType.valueOf(storage);
    }

    /** All parameters as fp32 (the matrices as rounded). */
    public float[] toFloats() {
        if (full != null) {
            return full;
        }
        float[] values = new float[(int) length()];
        INDArray bits = Nd4j.create(storage(), matrices.length);
        bits.data().asNio().order(ByteOrder.nativeOrder()).asShortBuffer().put(matrices);
        float[] converted = bits.castTo(DataType.FLOAT).toFloatVector();
        System.arraycopy(converted, 0, values, 0, matrices.length);
        System.arraycopy(rest, 0, values, matrices.length, rest.length);
        return values;
    }
}
