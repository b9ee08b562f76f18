package io.whetstone.jobs.engine;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Models whose weights do not change during a job (a sampler's policy, a teacher, a reference, a reward
 * model), kept alive in an executor JVM between tasks: each is built and loaded from its broadcast once per
 * executor and concurrent tasks get different copies. Keyed by shape, engine and the broadcast's id, so two
 * jobs (or two models of one job) never share one.
 */
public final class FrozenModels {

    private static final Map<Key, Deque<Transformer>> POOL = new ConcurrentHashMap<>();

    private FrozenModels() {
    }

    /** What makes two pooled models interchangeable. */
    public record Key(ModelConfig config, EngineOptions engine, long weightsId) implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** A model for {@code key}, its weights read from {@code weights} when it is first built. */
    public static Transformer acquire(Key key, Supplier<float[]> weights) {
        Deque<Transformer> free = POOL.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (free) {
            if (!free.isEmpty()) {
                return free.pop();
            }
        }
        Transformer model = new Transformer(key.config(), key.engine());
        TrainingState.copyInto(weights.get(), model.parameters().params());
        return model;
    }

    /** Returns {@code model} to the pool. */
    public static void release(Key key, Transformer model) {
        Deque<Transformer> free = POOL.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (free) {
            free.push(model);
        }
    }

    /** Frees every pooled model (end of a job, tests). */
    public static void clear() {
        for (Deque<Transformer> free : POOL.values()) {
            synchronized (free) {
                free.forEach(Transformer::close);
                free.clear();
            }
        }
        POOL.clear();
    }
}
