package io.whetstone.datasets.jinja;

import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(value, ensure_ascii=False, indent=..., separators=..., sort_keys=...)}, which is
 * what transformers' {@code tojson} filter calls; its spacing (", " and ": ") differs from Jackson's, and
 * rendered prompts must match it byte for byte.
 */
final class PythonJson {

    private PythonJson() {
    }

    static String dumps(Object value, Long indent, String itemSeparator, String keySeparator, boolean sortKeys,
            int line) {
        String items = itemSeparator != null ? itemSeparator : indent == null ? ", " : ",";
        String keys = keySeparator != null ? keySeparator : ": ";
        StringBuilder out = new StringBuilder();
        write(out, value, indent, items, keys, sortKeys, 0, line);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, Long indent, String items, String keys,
            boolean sortKeys, int depth, int line) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean bool) {
            out.append(bool ? "true" : "false");
        } else if (value instanceof Long number) {
            out.append(number);
        } else if (value instanceof Double number) {
            out.append(Double.isNaN(number) ? "NaN" : Double.isInfinite(number) ? (number > 0 ? "Infinity"
                    : "-Infinity") : Values.floatRepr(number));
        } else if (value instanceof String text) {
            string(out, text);
        } else if (value instanceof List<?> list) {
            if (list.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            for (int i = 0; i < list.size(); i++) {
                out.append(i > 0 ? items : "");
                newline(out, indent, depth + 1);
                write(out, list.get(i), indent, items, keys, sortKeys, depth + 1, line);
            }
            newline(out, indent, depth);
            out.append(']');
        } else if (value instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            List<? extends Map.Entry<?, ?>> entries = map.entrySet().stream()
                    .sorted(sortKeys ? (a, b) -> Values.str(a.getKey()).compareTo(Values.str(b.getKey()))
                            : (a, b) -> 0)
                    .toList();
            out.append('{');
            for (int i = 0; i < entries.size(); i++) {
                out.append(i > 0 ? items : "");
                newline(out, indent, depth + 1);
                Object key = entries.get(i).getKey();
                string(out, key instanceof String text ? text : Values.repr(key));
                out.append(keys);
                write(out, entries.get(i).getValue(), indent, items, keys, sortKeys, depth + 1, line);
            }
            newline(out, indent, depth);
            out.append('}');
        } else {
            throw new JinjaException(line, "tojson: " + Values.typeName(value) + " is not JSON serializable");
        }
    }

    private static void newline(StringBuilder out, Long indent, int depth) {
        if (indent != null) {
            out.append('\n').append(" ".repeat((int) (indent * depth)));
        }
    }

    private static void string(StringBuilder out, String text) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
