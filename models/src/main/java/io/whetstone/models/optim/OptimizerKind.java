package io.whetstone.models.optim;

import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.Kernels;
import java.util.List;
import java.util.Locale;

/** The optimisers a job may name ({@code train.optimizer}), and what each keeps besides the parameters. */
public enum OptimizerKind {
    /** AdamW with decoupled weight decay; keeps the first and second moments. */
    ADAMW(List.of("adamw.m", "adamw.v")),
    /** Plain SGD with weight decay; keeps nothing. */
    SGD(List.of());

    private final List<String> stateNames;

    OptimizerKind(List<String> stateNames) {
        this.stateNames = stateNames;
    }

    /** {@code adamw} or {@code sgd}, case ignored. */
    public static OptimizerKind parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown optimizer '" + name + "' (expected adamw or sgd)");
        }
    }

    /** An optimiser of this kind over {@code store}. {@code config}'s betas and eps are unused by SGD. */
    public Optimizer create(ParameterStore store, Kernels kernels, AdamWConfig config) {
        return this == SGD ? new Sgd(store, kernels, config.weightDecay(), config.maxGradNorm())
                : new AdamW(store, kernels, config);
    }

    /** The names of the state vectors a checkpoint keeps, in order. */
    public List<String> stateNames() {
        return stateNames;
    }
}
