package io.whetstone.jobs.rl;

import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.rl.ValueHead;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Models kept alive in an executor JVM between the RL job's tasks, so that an iteration does not rebuild
 * them: the policy (with its value head for PPO), whose parameters every task overwrites from its
 * broadcast, and the frozen reference, loaded once per job. A cache of memory, not of state.
 */
final class RlWorkerPool {

    private static final Map<Key, Deque<Bundle>> POOL = new ConcurrentHashMap<>();

    private RlWorkerPool() {
    }

    /** What makes two pooled models interchangeable. */
    record Key(ModelConfig model, EngineOptions engine, boolean valueHead, long poolId) {
    }

    /** The models of one task. The reference is built on first need. */
    static final class Bundle {
        final Key key;
        final Transformer policy;
        final ValueHead head; // null without a value head
        Transformer reference;

        Bundle(Key key) {
            this.key = key;
            this.policy = new Transformer(key.model(), key.engine());
            this.head = key.valueHead() ? new ValueHead(key.model().width(), key.engine().dataType()) : null;
        }

        /** The reference model, its parameters read from {@code weights} the first time. */
        Transformer reference(Supplier<float[]> weights) {
            if (reference == null) {
                reference = new Transformer(key.model(), key.engine());
                TrainingState.copyInto(weights.get(), reference.parameters().params());
            }
            return reference;
        }
    }

    static Bundle acquire(Key key) {
        Deque<Bundle> free = POOL.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (free) {
            if (!free.isEmpty()) {
                return free.pop();
            }
        }
        return new Bundle(key);
    }

    static void release(Bundle bundle) {
        Deque<Bundle> free = POOL.computeIfAbsent(bundle.key, k -> new ArrayDeque<>());
        synchronized (free) {
            free.push(bundle);
        }
    }

    /** Frees every pooled model (end of a job, tests). */
    static void clear() {
        for (Deque<Bundle> free : POOL.values()) {
            synchronized (free) {
                for (Bundle bundle : free) {
                    bundle.policy.close();
                    if (bundle.reference != null) {
                        bundle.reference.close();
                    }
                }
                free.clear();
            }
        }
        POOL.clear();
    }
}
