package io.whetstone.datasets.jinja;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Jinja template as Hugging Face chat templates use the language: parsed once, rendered many times,
 * with Python's semantics for values ({@code str}, {@code split}, slicing, {@code tojson}).
 *
 * <p>Written here rather than taken from a library: HubSpot's jinjava 2.7.3, the Java Jinja engine on
 * Maven Central, was tried on the real Qwen2.5, Qwen3, Llama 3.x, Phi-3 and Gemma templates and got them
 * wrong: it ignores {@code -} whitespace control on output tags under {@code lstrip_blocks} (every Llama
 * 3.2 and Qwen line came out indented), cannot parse {@code messages[::-1]} or {@code namespace(a=1)},
 * has no Python string methods ({@code lstrip}, {@code startswith}), and keeps rendering after
 * {@code raise_exception}. Tests compare this renderer with transformers' {@code apply_chat_template}.
 *
 * <p>Thread-safe: the parsed tree is immutable; each render has its own state.
 */
public final class JinjaTemplate {

    private final List<Node> nodes;

    private JinjaTemplate(List<Node> nodes) {
        this.nodes = nodes;
    }

    /** Parses {@code source}; a syntax error is a {@link JinjaException} naming the line. */
    public static JinjaTemplate parse(String source) {
        return new JinjaTemplate(Parser.parse(source));
    }

    /** The output and the [start, end) character spans of its {@code generation} blocks. */
    public record Rendered(String text, List<int[]> generationSpans) {
    }

    /**
     * Renders with {@code context} (Java maps, lists, strings, numbers, booleans, nulls and
     * {@link Function}s), plus the globals {@code namespace}, {@code range} and {@code dict}.
     */
    public Rendered render(Map<String, ?> context) {
        Map<String, Object> variables = new LinkedHashMap<>();
        variables.put("namespace", (Values.Callable) (arguments, keywords) -> Builtins.namespace(keywords));
        variables.put("dict", (Values.Callable) (arguments, keywords) -> new LinkedHashMap<Object, Object>(keywords));
        variables.put("range", (Values.Callable) (arguments, keywords) -> range(arguments));
        context.forEach((name, value) -> variables.put(name, value instanceof Function function
                ? (Values.Callable) (arguments, keywords) -> Values.wrap(function.apply(arguments))
                : Values.wrap(value)));
        Renderer renderer = new Renderer();
        StringBuilder out = new StringBuilder();
        renderer.render(nodes, variables, out);
        return new Rendered(out.toString(), renderer.generationSpans().stream()
                .map(span -> new int[] {span.start(), span.end()}).toList());
    }

    /** A Java function a template can call with positional arguments (e.g. {@code strftime_now}). */
    @FunctionalInterface
    public interface Function {
        Object apply(List<Object> arguments);
    }

    private static List<Object> range(List<Object> arguments) {
        long start = arguments.size() > 1 ? Values.toLong(arguments.get(0)) : 0;
        long stop = Values.toLong(arguments.get(arguments.size() > 1 ? 1 : 0));
        long step = arguments.size() > 2 ? Values.toLong(arguments.get(2)) : 1;
        List<Object> values = new java.util.ArrayList<>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            values.add(i);
        }
        return values;
    }
}
