package io.whetstone.models.engine;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Temporaries of the backward pass, shared by all layers (layers run one at a time): allocated on
 * first use for a given (name, shape) and reused every step after.
 */
final class BackwardScratch {

    private final DataType dataType;
    private final int rows;
    private final Map<String, INDArray> arrays = new HashMap<>();

    BackwardScratch(DataType dataType, int rows) {
        this.dataType = dataType;
        this.rows = rows;
    }

    /** A [N, width] temporary under {@code name}. */
    INDArray rows(String name, long width) {
        return arrays.computeIfAbsent(name + "[" + rows + "," + width + "]", key -> Nd4j.zeros(dataType, rows, width));
    }

    /** A temporary of {@code template}'s shape under {@code name}. */
    INDArray like(String name, INDArray template) {
        String key = name + Arrays.toString(template.shape());
        return arrays.computeIfAbsent(key, k -> Nd4j.zeros(dataType, template.shape()));
    }
}
