package io.whetstone.datasets.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Python's semantics for the values a template sees: {@code null} is None, {@link #UNDEFINED} a missing
 * name or key, integers are {@code Long}, floats {@code Double}, sequences {@code List}, mappings {@code Map}.
 * Rendering, truth, equality, ordering and arithmetic follow Python, since templates are written against it.
 */
final class Values {

    /** Jinja's default Undefined: renders as '', is false, iterates as empty, fails on attribute access. */
    static final Object UNDEFINED = new Object() {
        @Override
        public String toString() {
            return "Undefined";
        }
    };

    /** A {@code namespace(...)}: the one mutable object templates may assign attributes on. */
    static final class Namespace extends LinkedHashMap<String, Object> {
        private static final long serialVersionUID = 1L;
    }

    /** A Python tuple: a list that renders with parentheses ({@code dict.items()} pairs, {@code (a, b)}). */
    static final class Tuple extends ArrayList<Object> {
        private static final long serialVersionUID = 1L;

        Tuple(java.util.Collection<?> items) {
            super(items);
        }
    }

    /** Something a template can call: a global, a bound method, a macro. */
    @FunctionalInterface
    interface Callable {
        Object call(List<Object> arguments, Map<String, Object> keywords);
    }

    private Values() {
    }

    /** Converts caller-supplied Java values (Integer, arrays, records of maps) to the template's types. */
    static Object wrap(Object value) {
        if (value == null || value instanceof String || value instanceof Long || value instanceof Double
                || value instanceof Boolean || value instanceof Callable) {
            return value;
        }
        if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof Float) {
            return ((Float) value).doubleValue();
        }
        if (value instanceof Map<?, ?> map) {
            Map<Object, Object> copy = new LinkedHashMap<>();
            map.forEach((key, item) -> copy.put(wrap(key), wrap(item)));
            return copy;
        }
        if (value instanceof Iterable<?> items) {
            List<Object> copy = new ArrayList<>();
            items.forEach(item -> copy.add(wrap(item)));
            return copy;
        }
        throw new IllegalArgumentException("a template cannot use a " + value.getClass().getName());
    }

    static boolean truthy(Object value) {
        if (value == null || value == UNDEFINED) {
            return false;
        }
        if (value instanceof Boolean bool) {
            return bool;
        }
        if (value instanceof Long number) {
            return number != 0;
        }
        if (value instanceof Double number) {
            return number != 0.0;
        }
        if (value instanceof String text) {
            return !text.isEmpty();
        }
        if (value instanceof List<?> list) {
            return !list.isEmpty();
        }
        if (value instanceof Map<?, ?> map) {
            return !map.isEmpty();
        }
        return true;
    }

    /** Python's {@code str(value)}, except that Undefined is ''. */
    static String str(Object value) {
        if (value == UNDEFINED) {
            return "";
        }
        if (value instanceof String text) {
            return text;
        }
        return repr(value);
    }

    /** Python's {@code repr(value)}. */
    static String repr(Object value) {
        if (value == null) {
            return "None";
        }
        if (value == UNDEFINED) {
            return "";
        }
        if (value instanceof Boolean bool) {
            return bool ? "True" : "False";
        }
        if (value instanceof Double number) {
            return floatRepr(number);
        }
        if (value instanceof String text) {
            String quote = text.contains("'") && !text.contains("\"") ? "\"" : "'";
            StringBuilder out = new StringBuilder(quote);
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                switch (c) {
                    case '\n' -> out.append("\\n");
                    case '\t' -> out.append("\\t");
                    case '\r' -> out.append("\\r");
                    case '\\' -> out.append("\\\\");
                    default -> {
                        if (String.valueOf(c).equals(quote)) {
                            out.append('\\');
                        }
                        out.append(c);
                    }
                }
            }
            return out.append(quote).toString();
        }
        if (value instanceof List<?> list) {
            boolean tuple = value instanceof Tuple;
            StringBuilder out = new StringBuilder(tuple ? "(" : "[");
            for (int i = 0; i < list.size(); i++) {
                out.append(i > 0 ? ", " : "").append(repr(list.get(i)));
            }
            return out.append(tuple ? (list.size() == 1 ? ",)" : ")") : "]").toString();
        }
        if (value instanceof Map<?, ?> map) {
            StringBuilder out = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                out.append(first ? "" : ", ").append(repr(entry.getKey())).append(": ").append(repr(entry.getValue()));
                first = false;
            }
            return out.append('}').toString();
        }
        return String.valueOf(value);
    }

    /** Python's float repr: shortest round-trip digits, ".0" on whole numbers, exponent past 1e16. */
    static String floatRepr(double number) {
        if (Double.isNaN(number)) {
            return "nan";
        }
        if (Double.isInfinite(number)) {
            return number > 0 ? "inf" : "-inf";
        }
        BigDecimal exact = new BigDecimal(Double.toString(number)).stripTrailingZeros();
        int exponent = exact.precision() - exact.scale() - 1;
        if (number != 0 && (exponent >= 16 || exponent < -4)) {
            String digits = exact.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (number < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
                    + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
        }
        String plain = exact.toPlainString();
        return plain.contains(".") ? plain : plain + ".0";
    }

    static boolean isNumber(Object value) {
        return value instanceof Long || value instanceof Double || value instanceof Boolean;
    }

    static double toDouble(Object value) {
        if (value instanceof Boolean bool) {
            return bool ? 1 : 0;
        }
        return ((Number) value).doubleValue();
    }

    static long toLong(Object value) {
        if (value instanceof Boolean bool) {
            return bool ? 1 : 0;
        }
        return ((Number) value).longValue();
    }

    static boolean equal(Object left, Object right) {
        if (isNumber(left) && isNumber(right)) {
            return (left instanceof Double || right instanceof Double) ? toDouble(left) == toDouble(right)
                    : toLong(left) == toLong(right);
        }
        if (left instanceof List<?> a && right instanceof List<?> b) {
            if (a.size() != b.size()) {
                return false;
            }
            for (int i = 0; i < a.size(); i++) {
                if (!equal(a.get(i), b.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return Objects.equals(left, right);
    }

    /** Python ordering of numbers, strings and sequences; anything else is a type error. */
    static int compare(Object left, Object right, int line) {
        if (isNumber(left) && isNumber(right)) {
            return Double.compare(toDouble(left), toDouble(right));
        }
        if (left instanceof String a && right instanceof String b) {
            return a.compareTo(b);
        }
        if (left instanceof List<?> a && right instanceof List<?> b) {
            for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                if (!equal(a.get(i), b.get(i))) {
                    return compare(a.get(i), b.get(i), line);
                }
            }
            return Integer.compare(a.size(), b.size());
        }
        throw new JinjaException(line, "cannot compare " + typeName(left) + " with " + typeName(right));
    }

    static boolean contains(Object container, Object item, int line) {
        if (container instanceof String text) {
            if (!(item instanceof String part)) {
                throw new JinjaException(line, "'in <string>' needs a string on the left, not " + typeName(item));
            }
            return text.contains(part);
        }
        if (container instanceof Map<?, ?> map) {
            return map.containsKey(item);
        }
        for (Object element : iterate(container, line)) {
            if (equal(element, item)) {
                return true;
            }
        }
        return false;
    }

    /** The items a {@code for} loop sees: list items, mapping keys, string characters; Undefined is empty. */
    static List<Object> iterate(Object value, int line) {
        if (value == UNDEFINED) {
            return List.of();
        }
        if (value instanceof List<?> list) {
            return new ArrayList<>(list);
        }
        if (value instanceof Map<?, ?> map) {
            return new ArrayList<>(map.keySet());
        }
        if (value instanceof String text) {
            List<Object> characters = new ArrayList<>();
            text.codePoints().forEach(codePoint -> characters.add(new String(Character.toChars(codePoint))));
            return characters;
        }
        throw new JinjaException(line, typeName(value) + " is not iterable");
    }

    static long length(Object value, int line) {
        if (value == UNDEFINED) {
            return 0;
        }
        if (value instanceof String text) {
            return text.codePointCount(0, text.length());
        }
        if (value instanceof List<?> list) {
            return list.size();
        }
        if (value instanceof Map<?, ?> map) {
            return map.size();
        }
        throw new JinjaException(line, typeName(value) + " has no length");
    }

    static String typeName(Object value) {
        if (value == null) {
            return "none";
        }
        if (value == UNDEFINED) {
            return "undefined";
        }
        if (value instanceof String) {
            return "string";
        }
        if (value instanceof Boolean) {
            return "boolean";
        }
        if (value instanceof Long) {
            return "integer";
        }
        if (value instanceof Double) {
            return "float";
        }
        if (value instanceof List) {
            return "list";
        }
        if (value instanceof Map) {
            return "mapping";
        }
        return "callable";
    }

    /** Python's whitespace ({@code str.isspace}). */
    static boolean isSpace(int codePoint) {
        return Character.isWhitespace(codePoint) || Character.isSpaceChar(codePoint) || codePoint == 0x85;
    }

    static String strip(String text, String characters, boolean left, boolean right) {
        int start = 0;
        int end = text.length();
        while (left && start < end && stripped(text.charAt(start), characters)) {
            start++;
        }
        while (right && end > start && stripped(text.charAt(end - 1), characters)) {
            end--;
        }
        return text.substring(start, end);
    }

    private static boolean stripped(char c, String characters) {
        return characters == null ? isSpace(c) : characters.indexOf(c) >= 0;
    }

    /** Python's {@code str.split(sep, maxsplit)}; a null separator splits on runs of whitespace. */
    static List<Object> split(String text, String separator, long maxSplit) {
        List<Object> parts = new ArrayList<>();
        if (separator == null) {
            int i = 0;
            int n = text.length();
            while (true) {
                while (i < n && isSpace(text.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    return parts;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(strip(text.substring(i), null, false, true));
                    return parts;
                }
                int start = i;
                while (i < n && !isSpace(text.charAt(i))) {
                    i++;
                }
                parts.add(text.substring(start, i));
            }
        }
        if (separator.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int start = 0;
        while (maxSplit < 0 || parts.size() < maxSplit) {
            int index = text.indexOf(separator, start);
            if (index < 0) {
                break;
            }
            parts.add(text.substring(start, index));
            start = index + separator.length();
        }
        parts.add(text.substring(start));
        return parts;
    }

    /** Python slicing of lists and strings, with negative indices and steps. */
    static Object slice(Object target, Object start, Object stop, Object step, int line) {
        List<Object> items = target instanceof String ? iterate(target, line)
                : target instanceof List<?> list ? new ArrayList<>(list) : null;
        if (items == null) {
            throw new JinjaException(line, "cannot slice " + typeName(target));
        }
        int n = items.size();
        long by = step == null ? 1 : toLong(step);
        if (by == 0) {
            throw new JinjaException(line, "slice step cannot be zero");
        }
        long from;
        long to;
        if (by > 0) {
            from = start == null ? 0 : clamp(toLong(start), n, 0, n);
            to = stop == null ? n : clamp(toLong(stop), n, 0, n);
        } else {
            from = start == null ? n - 1 : clamp(toLong(start), n, -1, n - 1);
            to = stop == null ? -1 : clamp(toLong(stop), n, -1, n - 1);
        }
        List<Object> result = new ArrayList<>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) {
            result.add(items.get((int) i));
        }
        if (target instanceof String) {
            StringBuilder text = new StringBuilder();
            result.forEach(text::append);
            return text.toString();
        }
        return result;
    }

    private static long clamp(long index, int length, long low, long high) {
        long adjusted = index < 0 ? index + length : index;
        return Math.max(low, Math.min(high, adjusted));
    }
}
