package io.whetstone.datasets.jinja;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders parsed statements. Scoping follows Jinja: a {@code for} body has its own scope per iteration
 * (a {@code set} inside it is gone after the loop, hence {@code namespace}); {@code if} does not.
 */
final class Renderer {

    /** A span of output a {@code generation} block wrote: [start, end) in characters. */
    record Span(int start, int end) {
    }

    private static final class Scope {
        final Map<String, Object> variables = new HashMap<>();
        final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object lookup(String name) {
            for (Scope scope = this; scope != null; scope = scope.parent) {
                if (scope.variables.containsKey(name)) {
                    return scope.variables.get(name);
                }
            }
            return Values.UNDEFINED;
        }
    }

    private static final class LoopSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final boolean isBreak;

        LoopSignal(boolean isBreak) {
            super(null, null, false, false);
            this.isBreak = isBreak;
        }
    }

    private final List<Span> generationSpans = new ArrayList<>();

    List<Span> generationSpans() {
        return generationSpans;
    }

    void render(List<Node> nodes, Map<String, Object> context, StringBuilder out) {
        Scope globals = new Scope(null);
        context.forEach((name, value) -> globals.variables.put(name, value));
        renderAll(nodes, new Scope(globals), out);
    }

    private void renderAll(List<Node> nodes, Scope scope, StringBuilder out) {
        for (Node node : nodes) {
            renderNode(node, scope, out);
        }
    }

    private void renderNode(Node node, Scope scope, StringBuilder out) {
        if (node instanceof Node.Text text) {
            out.append(text.text());
        } else if (node instanceof Node.Output output) {
            out.append(Values.str(evaluate(output.value(), scope)));
        } else if (node instanceof Node.If branches) {
            for (Node.Branch branch : branches.branches()) {
                if (Values.truthy(evaluate(branch.condition(), scope))) {
                    renderAll(branch.body(), scope, out);
                    return;
                }
            }
            renderAll(branches.otherwise(), scope, out);
        } else if (node instanceof Node.For loop) {
            renderFor(loop, scope, out);
        } else if (node instanceof Node.Set set) {
            assign(set, scope);
        } else if (node instanceof Node.SetBlock block) {
            StringBuilder captured = new StringBuilder();
            renderAll(block.body(), scope, captured);
            scope.variables.put(block.target(), captured.toString());
        } else if (node instanceof Node.Generation generation) {
            int start = out.length();
            renderAll(generation.body(), scope, out);
            generationSpans.add(new Span(start, out.length()));
        } else if (node instanceof Node.Macro macro) {
            scope.variables.put(macro.name(), macroCallable(macro, scope));
        } else {
            throw new LoopSignal(node instanceof Node.Break);
        }
    }

    private void renderFor(Node.For loop, Scope scope, StringBuilder out) {
        List<Object> items = new ArrayList<>();
        Object iterable = evaluate(loop.iterable(), scope);
        for (Object item : Values.iterate(iterable, loop.line())) {
            if (loop.filter() == null) {
                items.add(item);
                continue;
            }
            Scope probe = new Scope(scope);
            bindTargets(loop.targets(), item, probe, loop.line());
            if (Values.truthy(evaluate(loop.filter(), probe))) {
                items.add(item);
            }
        }
        if (items.isEmpty()) {
            renderAll(loop.otherwise(), scope, out);
            return;
        }
        for (int index = 0; index < items.size(); index++) {
            Scope body = new Scope(scope);
            bindTargets(loop.targets(), items.get(index), body, loop.line());
            body.variables.put("loop", loopObject(items, index));
            try {
                renderAll(loop.body(), body, out);
            } catch (LoopSignal signal) {
                if (signal.isBreak) {
                    break;
                }
            }
        }
    }

    private static Map<String, Object> loopObject(List<Object> items, int index) {
        Map<String, Object> loop = new LinkedHashMap<>();
        int length = items.size();
        loop.put("index", (long) index + 1);
        loop.put("index0", (long) index);
        loop.put("revindex", (long) (length - index));
        loop.put("revindex0", (long) (length - index - 1));
        loop.put("first", index == 0);
        loop.put("last", index == length - 1);
        loop.put("length", (long) length);
        loop.put("depth", 1L);
        loop.put("depth0", 0L);
        loop.put("previtem", index > 0 ? items.get(index - 1) : Values.UNDEFINED);
        loop.put("nextitem", index + 1 < length ? items.get(index + 1) : Values.UNDEFINED);
        loop.put("cycle", (Values.Callable) (arguments, keywords) -> arguments.get(index % arguments.size()));
        return loop;
    }

    private void bindTargets(List<String> targets, Object item, Scope scope, int line) {
        if (targets.size() == 1) {
            scope.variables.put(targets.get(0), item);
            return;
        }
        List<Object> values = Values.iterate(item, line);
        if (values.size() != targets.size()) {
            throw new JinjaException(line, "cannot unpack " + values.size() + " values into " + targets);
        }
        for (int i = 0; i < targets.size(); i++) {
            scope.variables.put(targets.get(i), values.get(i));
        }
    }

    private void assign(Node.Set set, Scope scope) {
        Object value = evaluate(set.value(), scope);
        if (set.attribute() != null) {
            Object target = scope.lookup(set.targets().get(0));
            if (!(target instanceof Values.Namespace namespace)) {
                throw new JinjaException(set.line(), "cannot assign attribute '" + set.attribute() + "' on "
                        + Values.typeName(target) + " " + set.targets().get(0) + " (only a namespace)");
            }
            namespace.put(set.attribute(), value);
            return;
        }
        bindTargets(set.targets(), value, scope, set.line());
    }

    private Values.Callable macroCallable(Node.Macro macro, Scope definition) {
        return (arguments, keywords) -> {
            Scope call = new Scope(definition);
            for (int i = 0; i < macro.parameters().size(); i++) {
                String parameter = macro.parameters().get(i);
                Object value;
                if (i < arguments.size()) {
                    value = arguments.get(i);
                } else if (keywords.containsKey(parameter)) {
                    value = keywords.get(parameter);
                } else if (macro.defaults().get(i) != null) {
                    value = evaluate(macro.defaults().get(i), call);
                } else {
                    value = Values.UNDEFINED;
                }
                call.variables.put(parameter, value);
            }
            StringBuilder out = new StringBuilder();
            renderAll(macro.body(), call, out);
            return out.toString();
        };
    }

    // ---- expressions ----

    private Object evaluate(Expr expression, Scope scope) {
        if (expression instanceof Expr.Literal literal) {
            return literal.value();
        }
        if (expression instanceof Expr.Name name) {
            return scope.lookup(name.name());
        }
        if (expression instanceof Expr.ListLiteral list) {
            List<Object> items = new ArrayList<>();
            list.items().forEach(item -> items.add(evaluate(item, scope)));
            return items;
        }
        if (expression instanceof Expr.TupleLiteral tuple) {
            List<Object> items = new ArrayList<>();
            tuple.items().forEach(item -> items.add(evaluate(item, scope)));
            return new Values.Tuple(items);
        }
        if (expression instanceof Expr.DictLiteral dict) {
            Map<Object, Object> map = new LinkedHashMap<>();
            for (int i = 0; i < dict.keys().size(); i++) {
                map.put(evaluate(dict.keys().get(i), scope), evaluate(dict.values().get(i), scope));
            }
            return map;
        }
        if (expression instanceof Expr.Attribute attribute) {
            return attribute(evaluate(attribute.target(), scope), attribute.name(), attribute.line());
        }
        if (expression instanceof Expr.Item item) {
            return item(evaluate(item.target(), scope), evaluate(item.key(), scope), item.line());
        }
        if (expression instanceof Expr.Slice slice) {
            return Values.slice(evaluate(slice.target(), scope), optional(slice.start(), scope),
                    optional(slice.stop(), scope), optional(slice.step(), scope), slice.line());
        }
        if (expression instanceof Expr.Call call) {
            return call(call, scope);
        }
        if (expression instanceof Expr.Filter filter) {
            return Builtins.filter(filter.name(), evaluate(filter.value(), scope),
                    evaluateAll(filter.arguments(), scope), evaluateKeywords(filter.keywords(), scope), this,
                    filter.line());
        }
        if (expression instanceof Expr.Test test) {
            return Builtins.test(test.name(), evaluate(test.value(), scope), evaluateAll(test.arguments(), scope),
                    this, test.line()) != test.negated();
        }
        if (expression instanceof Expr.Unary unary) {
            return unary(unary, scope);
        }
        if (expression instanceof Expr.Binary binary) {
            return binary(binary, scope);
        }
        if (expression instanceof Expr.Compare compare) {
            return compare(compare, scope);
        }
        Expr.Conditional conditional = (Expr.Conditional) expression;
        return Values.truthy(evaluate(conditional.condition(), scope)) ? evaluate(conditional.then(), scope)
                : conditional.otherwise() == null ? Values.UNDEFINED : evaluate(conditional.otherwise(), scope);
    }

    private Object optional(Expr expression, Scope scope) {
        return expression == null ? null : evaluate(expression, scope);
    }

    private List<Object> evaluateAll(List<Expr> expressions, Scope scope) {
        List<Object> values = new ArrayList<>();
        expressions.forEach(expression -> values.add(evaluate(expression, scope)));
        return values;
    }

    private Map<String, Object> evaluateKeywords(Map<String, Expr> expressions, Scope scope) {
        Map<String, Object> values = new LinkedHashMap<>();
        expressions.forEach((name, expression) -> values.put(name, evaluate(expression, scope)));
        return values;
    }

    /** Jinja's {@code getattr}: a Python attribute (a method, a loop or namespace field), then an item. */
    Object attribute(Object target, String name, int line) {
        if (target == Values.UNDEFINED) {
            throw new JinjaException(line, "'" + name + "' of an undefined value");
        }
        Values.Callable method = Builtins.method(target, name, line);
        if (method != null) {
            return method;
        }
        if (target instanceof Map<?, ?> map) {
            return map.containsKey(name) ? map.get(name) : Values.UNDEFINED;
        }
        return Values.UNDEFINED;
    }

    /** Jinja's {@code getitem}: an item (list index, mapping key, character), then an attribute. */
    private Object item(Object target, Object key, int line) {
        if (target == Values.UNDEFINED) {
            throw new JinjaException(line, Values.repr(key) + " of an undefined value");
        }
        if (target instanceof Map<?, ?> map) {
            if (map.containsKey(key)) {
                return map.get(key);
            }
            return key instanceof String name && !(target instanceof Values.Namespace)
                    && Builtins.method(target, name, line) != null ? Builtins.method(target, name, line)
                    : Values.UNDEFINED;
        }
        if ((target instanceof List || target instanceof String) && Values.isNumber(key)) {
            List<Object> items = target instanceof List<?> list ? new ArrayList<>(list) : Values.iterate(target, line);
            long index = Values.toLong(key);
            if (index < 0) {
                index += items.size();
            }
            return index >= 0 && index < items.size() ? items.get((int) index) : Values.UNDEFINED;
        }
        if (key instanceof String name) {
            return attribute(target, name, line);
        }
        return Values.UNDEFINED;
    }

    private Object call(Expr.Call call, Scope scope) {
        Object function = evaluate(call.function(), scope);
        if (!(function instanceof Values.Callable callable)) {
            String name = call.function() instanceof Expr.Name named ? named.name()
                    : call.function() instanceof Expr.Attribute attribute ? attribute.name() : "expression";
            throw new JinjaException(call.line(), "'" + name + "' is not callable (" + Values.typeName(function)
                    + ")");
        }
        try {
            return callable.call(evaluateAll(call.arguments(), scope), evaluateKeywords(call.keywords(), scope));
        } catch (JinjaException.Raised e) {
            throw e.line() == 0 ? new JinjaException.Raised(call.line(), e.reason()) : e;
        } catch (JinjaException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new JinjaException(call.line(), "call failed: " + e);
        }
    }

    private Object unary(Expr.Unary unary, Scope scope) {
        Object operand = evaluate(unary.operand(), scope);
        return switch (unary.operator()) {
            case "not" -> !Values.truthy(operand);
            case "-" -> {
                if (operand instanceof Long number) {
                    yield -number;
                }
                if (operand instanceof Double number) {
                    yield -number;
                }
                throw new JinjaException(unary.line(), "bad operand for unary -: " + Values.typeName(operand));
            }
            default -> operand;
        };
    }

    private Object binary(Expr.Binary binary, Scope scope) {
        Object left = evaluate(binary.left(), scope);
        switch (binary.operator()) {
            case "and":
                return Values.truthy(left) ? evaluate(binary.right(), scope) : left;
            case "or":
                return Values.truthy(left) ? left : evaluate(binary.right(), scope);
            case "~":
                return Values.str(left) + Values.str(evaluate(binary.right(), scope));
            default:
                return arithmetic(binary.operator(), left, evaluate(binary.right(), scope), binary.line());
        }
    }

    Object arithmetic(String operator, Object left, Object right, int line) {
        if (left == Values.UNDEFINED || right == Values.UNDEFINED) {
            throw new JinjaException(line, "an undefined value in '" + operator + "'");
        }
        if (operator.equals("+")) {
            if (left instanceof String a && right instanceof String b) {
                return a + b;
            }
            if (left instanceof List<?> a && right instanceof List<?> b) {
                List<Object> joined = new ArrayList<>(a);
                joined.addAll(b);
                return joined;
            }
        }
        if (operator.equals("*") && left instanceof String text && right instanceof Long times) {
            return text.repeat((int) Math.max(0, times));
        }
        if (operator.equals("%") && left instanceof String format) {
            List<Object> arguments = right instanceof List<?> list ? new ArrayList<>(list) : List.of(right);
            StringBuilder out = new StringBuilder();
            int next = 0;
            for (int i = 0; i < format.length(); i++) {
                char c = format.charAt(i);
                if (c == '%' && i + 1 < format.length()) {
                    char kind = format.charAt(++i);
                    out.append(kind == '%' ? "%" : kind == 'r' ? Values.repr(arguments.get(next++))
                            : Values.str(arguments.get(next++)));
                } else {
                    out.append(c);
                }
            }
            return out.toString();
        }
        if (!Values.isNumber(left) || !Values.isNumber(right)) {
            throw new JinjaException(line, "unsupported operand types for " + operator + ": "
                    + Values.typeName(left) + " and " + Values.typeName(right));
        }
        boolean integers = !(left instanceof Double) && !(right instanceof Double);
        switch (operator) {
            case "+":
                return integers ? (Object) (Values.toLong(left) + Values.toLong(right))
                        : Values.toDouble(left) + Values.toDouble(right);
            case "-":
                return integers ? (Object) (Values.toLong(left) - Values.toLong(right))
                        : Values.toDouble(left) - Values.toDouble(right);
            case "*":
                return integers ? (Object) (Values.toLong(left) * Values.toLong(right))
                        : Values.toDouble(left) * Values.toDouble(right);
            case "/":
                return Values.toDouble(left) / Values.toDouble(right);
            case "//":
                return integers ? (Object) Math.floorDiv(Values.toLong(left), Values.toLong(right))
                        : Math.floor(Values.toDouble(left) / Values.toDouble(right));
            case "%":
                return integers ? (Object) Math.floorMod(Values.toLong(left), Values.toLong(right))
                        : Values.toDouble(left) - Math.floor(Values.toDouble(left) / Values.toDouble(right))
                                * Values.toDouble(right);
            case "**":
                double power = Math.pow(Values.toDouble(left), Values.toDouble(right));
                return integers && Values.toLong(right) >= 0 ? (Object) (long) power : power;
            default:
                throw new JinjaException(line, "unknown operator " + operator);
        }
    }

    private Object compare(Expr.Compare compare, Scope scope) {
        Object left = evaluate(compare.first(), scope);
        for (int i = 0; i < compare.operators().size(); i++) {
            Object right = evaluate(compare.rest().get(i), scope);
            boolean holds = switch (compare.operators().get(i)) {
                case "==" -> Values.equal(left, right);
                case "!=" -> !Values.equal(left, right);
                case "<" -> Values.compare(left, right, compare.line()) < 0;
                case ">" -> Values.compare(left, right, compare.line()) > 0;
                case "<=" -> Values.compare(left, right, compare.line()) <= 0;
                case ">=" -> Values.compare(left, right, compare.line()) >= 0;
                case "in" -> Values.contains(right, left, compare.line());
                default -> !Values.contains(right, left, compare.line()); // not in
            };
            if (!holds) {
                return false;
            }
            left = right;
        }
        return true;
    }
}
