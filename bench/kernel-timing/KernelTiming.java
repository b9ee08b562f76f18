package io.whetstone.models.kernels;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-kernel timing for bench/kernel-timing/run only: never part of the build. Wraps the Kernels in a proxy that adds
 * up wall time per method, and the GEMM calls the patch routes here, per shape; prints ms per step after warm-up.
 */
public final class KernelTiming {
    public static final Map<String, LongAdder> NANOS = new ConcurrentHashMap<>();
    public static final Map<String, LongAdder> CALLS = new ConcurrentHashMap<>();
    public static void reset() { NANOS.clear(); CALLS.clear(); }
    public static void dump(int steps) {
        if (System.getProperty("kerneltiming") == null) return;
        double tot = 0;
        for (var e : new TreeMap<>(NANOS).entrySet()) {
            double ms = e.getValue().sum() / 1e6 / steps; tot += ms;
            System.err.printf("PROF %-30s %8.2f ms/step %6d calls%n", e.getKey(), ms, CALLS.get(e.getKey()).sum() / steps);
        }
        System.err.printf("PROF %-30s %8.2f ms/step%n", "TOTAL", tot);
    }
    public static void add(String k, long ns) {
        NANOS.computeIfAbsent(k, x -> new LongAdder()).add(ns);
        CALLS.computeIfAbsent(k, x -> new LongAdder()).increment();
    }
    public static void gemm(String key, org.nd4j.linalg.api.ndarray.INDArray a, org.nd4j.linalg.api.ndarray.INDArray b, org.nd4j.linalg.api.ndarray.INDArray c, boolean ta, boolean tb, double al, double be) {
        long t = System.nanoTime();
        org.nd4j.linalg.factory.Nd4j.gemm(a, b, c, ta, tb, al, be);
        add(key + " " + (ta ? a.columns() : a.rows()) + "x" + (ta ? a.rows() : a.columns()) + "x" + (tb ? b.rows() : b.columns()), System.nanoTime() - t);
    }
    static Kernels wrap(Kernels k) {
        if (System.getProperty("kerneltiming") == null) return k;
        return (Kernels) Proxy.newProxyInstance(Kernels.class.getClassLoader(), new Class<?>[]{Kernels.class}, (p, m, a) -> {
            long t = System.nanoTime();
            try { return m.invoke(k, a); }
            catch (InvocationTargetException e) { throw e.getCause(); }
            finally { add(m.getName(), System.nanoTime() - t); }
        });
    }
}
