package io.whetstone.datasets.rewards;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Weighted reward components with a time limit per call (per completion: a batch of n gets n times it). The
 * total is sum(weight * component). A component that throws or exceeds the limit makes the completion's reward a
 * failure: its component value is NaN, the reason is kept, and the caller counts it and leaves the completion out
 * of the update. Scorers are not thread-safe: one per task.
 */
public final class RewardScorer implements AutoCloseable {

    /** A named, weighted component. */
    public record Component(String name, double weight, Reward reward) implements Serializable {
        private static final long serialVersionUID = 1L;

        public Component {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("a reward component needs a name");
            }
            if (!Double.isFinite(weight)) {
                throw new IllegalArgumentException("reward " + name + ": weight must be finite, got " + weight);
            }
        }
    }

    /**
     * The components' values (NaN where one failed), the weighted total (NaN on any failure) and the
     * failure's reason ({@code component: message}), or null.
     */
    public record Scored(double[] components, double total, String failure) implements Serializable {
        private static final long serialVersionUID = 1L;

        public boolean failed() {
            return failure != null;
        }
    }

    private final List<Component> components;
    private final long timeoutMillis;
    private ExecutorService executor;

    /** {@code timeoutMillis} bounds each component call (0: no limit, called on this thread). */
    public RewardScorer(List<Component> components, long timeoutMillis) {
        if (components.isEmpty()) {
            throw new IllegalArgumentException("at least one reward component is needed");
        }
        this.components = List.copyOf(components);
        this.timeoutMillis = timeoutMillis;
    }

    public List<Component> components() {
        return components;
    }

    /** Names of the components, in order. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        components.forEach(component -> names.add(component.name()));
        return names;
    }

    public Scored score(RewardInput input) {
        double[] values = new double[components.size()];
        double total = 0;
        String failure = null;
        for (int i = 0; i < values.length; i++) {
            Component component = components.get(i);
            try {
                values[i] = call(component.reward(), input);
                if (!Double.isFinite(values[i])) {
                    throw new ArithmeticException("returned " + values[i]);
                }
                total += component.weight() * values[i];
            } catch (Exception e) {
                values[i] = Double.NaN;
                if (failure == null) {
                    failure = component.name() + ": " + describe(e);
                }
            }
        }
        return new Scored(values, failure == null ? total : Double.NaN, failure);
    }

    /**
     * The rewards of {@code inputs}, in order, each equal to {@link #score}'s: every component scores all of them in
     * one call ({@link Reward#scoreAll}; a reward model batches its forward passes) with a time limit of the
     * per-call limit times their number. When that call fails, the component scores them one by one, so a failure
     * is kept by the completion that caused it.
     */
    public List<Scored> scoreAll(List<RewardInput> inputs) {
        int n = inputs.size();
        double[][] values = new double[n][components.size()];
        String[] failures = new String[n];
        for (int c = 0; c < components.size(); c++) {
            Component component = components.get(c);
            double[] batch = null;
            if (n > 1) {
                try {
                    batch = callAll(component.reward(), inputs);
                    if (batch.length != n) {
                        throw new IllegalStateException("returned " + batch.length + " values for " + n + " inputs");
                    }
                } catch (Exception e) {
                    batch = null; // scored one by one below, which names the failing inputs
                }
            }
            for (int i = 0; i < n; i++) {
                try {
                    values[i][c] = batch != null ? batch[i] : call(component.reward(), inputs.get(i));
                    if (!Double.isFinite(values[i][c])) {
                        throw new ArithmeticException("returned " + values[i][c]);
                    }
                } catch (Exception e) {
                    values[i][c] = Double.NaN;
                    if (failures[i] == null) {
                        failures[i] = component.name() + ": " + describe(e);
                    }
                }
            }
        }
        List<Scored> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            double total = 0;
            for (int c = 0; c < components.size(); c++) {
                total += components.get(c).weight() * values[i][c];
            }
            out.add(new Scored(values[i], failures[i] == null ? total : Double.NaN, failures[i]));
        }
        return out;
    }

    private double[] callAll(Reward reward, List<RewardInput> inputs) throws Exception {
        return timed(() -> reward.scoreAll(inputs), timeoutMillis * inputs.size());
    }

    private double call(Reward reward, RewardInput input) throws Exception {
        return timed(() -> reward.score(input), timeoutMillis);
    }

    /** Runs {@code work} on this scorer's thread, waiting at most {@code limitMillis} (0 or less: no limit, here). */
    private <T> T timed(java.util.concurrent.Callable<T> work, long limitMillis) throws Exception {
        if (timeoutMillis <= 0) {
            return work.call();
        }
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(runnable -> {
                Thread thread = new Thread(runnable, "whetstone-reward");
                thread.setDaemon(true);
                return thread;
            });
        }
        Future<T> future = executor.submit(work);
        try {
            return future.get(limitMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            // the stuck call may never return: give it its thread and start a fresh one for the next call
            executor.shutdownNow();
            executor = null;
            throw new TimeoutException("timed out after " + limitMillis + " ms");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof Exception exception ? exception : new RuntimeException(cause);
        }
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }
}
