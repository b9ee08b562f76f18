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
 * Weighted reward components with a time limit per call. The total is sum(weight * component). A
 * component that throws or exceeds the limit makes the completion's reward a failure: its component
 * value is NaN, the reason is kept, and the caller counts it and leaves the completion out of the
 * update. Scorers are not thread-safe: one per task.
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

    private double call(Reward reward, RewardInput input) throws Exception {
        if (timeoutMillis <= 0) {
            return reward.score(input);
        }
        if (executor == null) {
            executor = Executors.newSingleThreadExecutor(runnable -> {
                Thread thread = new Thread(runnable, "whetstone-reward");
                thread.setDaemon(true);
                return thread;
            });
        }
        Future<Double> future = executor.submit(() -> reward.score(input));
        try {
            return future.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            // the stuck call may never return: give it its thread and start a fresh one for the next call
            executor.shutdownNow();
            executor = null;
            throw new TimeoutException("timed out after " + timeoutMillis + " ms");
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
