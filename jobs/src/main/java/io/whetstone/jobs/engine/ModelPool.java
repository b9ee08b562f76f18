package io.whetstone.jobs.engine;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.rl.ValueHead;
import io.whetstone.models.train.TrainingState;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The models an executor JVM keeps alive between tasks, for every role a job gives them: the policy (a
 * trainer's bundle of model, optimiser and objective, or the rollout copy whose parameters each task
 * overwrites from its broadcast), and the frozen models whose weights do not change during a job (a
 * reference, a teacher, a reward model, a sampler's policy), each built and loaded from its broadcast once
 * per executor. Concurrent tasks get different copies. Keys carry the broadcast's or the job's id, so two jobs
 * (or two models of one job) never share one. A cache of memory, not of state: everything a task computes
 * comes from its inputs.
 */
public final class ModelPool {

    private static final Map<Object, Deque<AutoCloseable>> FREE = new ConcurrentHashMap<>();

    private ModelPool() {
    }

    /** What a pooled model is to its job. */
    public enum Role {
        /** The model being trained; its parameters come from every task's broadcast. */
        POLICY,
        /** A frozen reference (KL terms, DPO's reference). */
        REFERENCE,
        /** A frozen teacher (distillation). */
        TEACHER,
        /** A frozen reward model scoring completions. */
        REWARD_MODEL,
        /** A frozen policy that samples completions for a data job. */
        SAMPLER
    }

    /**
     * What makes two pooled models interchangeable.
     *
     * @param role the model's role
     * @param config its shape
     * @param engine precision, kernels and threads
     * @param valueHead whether PPO's value head is appended to its parameters
     * @param id the broadcast holding its weights (frozen roles) or an id of the job (the policy)
     */
    public record Key(Role role, ModelConfig config, EngineOptions engine, boolean valueHead, long id)
            implements Serializable {
        private static final long serialVersionUID = 1L;

        /** A frozen model of {@code role} whose weights are broadcast {@code weightsId}. */
        public static Key frozen(Role role, ModelConfig config, EngineOptions engine, long weightsId) {
            return new Key(role, config, engine, false, weightsId);
        }
    }

    /**
     * A model for {@code key}. A frozen role's weights are read from {@code weights} when the model is first
     * built; a policy ({@code weights} null) starts at zero and the task loads its parameters.
     */
    public static Transformer acquire(Key key, Supplier<float[]> weights) {
        return acquireFrozen(key, weights == null ? null : () -> io.whetstone.models.engine.FrozenParams.of(
                weights.get(), key.valueHead() ? io.whetstone.models.engine.ParameterLayout.concat(
                        io.whetstone.models.engine.ParameterLayout.of(key.config()), ValueHead.layout(
                                key.config().width())) : io.whetstone.models.engine.ParameterLayout.of(key.config()),
                org.nd4j.linalg.api.buffer.DataType.FLOAT));
    }

    /** As {@link #acquire}, a frozen role's weights as they were broadcast (half-precision matrices kept so). */
    public static Transformer acquireFrozen(Key key, Supplier<io.whetstone.models.engine.FrozenParams> weights) {
        return take(key, () -> {
            // a frozen role (weights given) only runs forward: no gradient storage for its matrices
            Transformer model = weights != null && !key.valueHead() ? Transformer.frozen(key.config(), key.engine())
                    : new Transformer(key.config(), key.engine(), null,
                            key.valueHead() ? ValueHead.layout(key.config().width()) : null);
            if (weights != null) {
                model.parameters().load(weights.get());
            }
            return model;
        });
    }

    /** Returns {@code model} to the pool. */
    public static void release(Key key, Transformer model) {
        give(key, model);
    }

    /** A free item of {@code key}, or a new one from {@code build}. */
    @SuppressWarnings("unchecked")
    static <T extends AutoCloseable> T take(Object key, Supplier<T> build) {
        Deque<AutoCloseable> free = FREE.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (free) {
            if (!free.isEmpty()) {
                return (T) free.pop();
            }
        }
        return build.get();
    }

    /** Returns {@code item} to the pool under {@code key}. */
    static void give(Object key, AutoCloseable item) {
        Deque<AutoCloseable> free = FREE.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (free) {
            free.push(item);
        }
    }

    /** Frees every pooled model of every role (end of a job, tests). */
    public static void clear() {
        for (Deque<AutoCloseable> free : FREE.values()) {
            synchronized (free) {
                for (AutoCloseable item : free) {
                    try {
                        item.close();
                    } catch (Exception e) {
                        throw new IllegalStateException("closing a pooled model failed", e);
                    }
                }
                free.clear();
            }
        }
        FREE.clear();
    }
}
