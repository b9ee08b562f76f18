package io.whetstone.models.engine;

import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;

/** The names of the types a frozen base may be kept in ({@code model.frozen_dtype}), parsed once at the edge. */
public final class FrozenDtype {

    private FrozenDtype() {
    }

    /** {@code float32}, {@code bfloat16} or {@code float16} to its ND4J type; other names are refused. */
    public static DataType parse(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "float32", "fp32" -> DataType.FLOAT;
            case "bfloat16", "bf16" -> DataType.BFLOAT16;
            case "float16", "fp16" -> DataType.HALF;
            default -> throw new IllegalArgumentException("frozen dtype must be float32, bfloat16 or float16, not '"
                    + name + "'");
        };
    }

    /** The config name of {@code type}. */
    public static String name(DataType type) {
        return switch (type) {
            case BFLOAT16 -> "bfloat16";
            case HALF -> "float16";
            default -> "float32";
        };
    }
}
