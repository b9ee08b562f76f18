package io.whetstone.datasets.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The filters, tests and methods chat templates use: Jinja's built-in filters and tests, transformers'
 * {@code tojson}, and the Python {@code str}, {@code dict} and {@code list} methods templates call
 * ({@code content.split('</think>')[-1].lstrip('\n')}). An unknown one is an error naming it.
 */
final class Builtins {

    private Builtins() {
    }

    static Object filter(String name, Object value, List<Object> arguments, Map<String, Object> keywords,
            Renderer renderer, int line) {
        Arguments args = new Arguments("filter " + name, arguments, keywords, line);
        switch (name) {
            case "length", "count":
                return Values.length(value, line);
            case "trim":
                return Values.strip(string(value, name, line), args.string(0, "chars", null), true, true);
            case "tojson": {
                Object indent = args.get(1, "indent", null);
                Object separators = args.get(-1, "separators", null);
                String itemSeparator = null;
                String keySeparator = null;
                if (separators instanceof List<?> pair && pair.size() == 2) {
                    itemSeparator = (String) pair.get(0);
                    keySeparator = (String) pair.get(1);
                }
                return PythonJson.dumps(value, indent == null ? null : Values.toLong(indent), itemSeparator,
                        keySeparator, Values.truthy(args.get(-1, "sort_keys", Boolean.FALSE)), line);
            }
            case "upper":
                return string(value, name, line).toUpperCase(Locale.ROOT);
            case "lower":
                return string(value, name, line).toLowerCase(Locale.ROOT);
            case "capitalize":
                return capitalize(string(value, name, line));
            case "title":
                return title(string(value, name, line));
            case "string":
                return Values.str(value);
            case "safe", "e", "escape":
                return name.equals("safe") ? value : escape(Values.str(value));
            case "int":
                return toInteger(value, args.get(0, "default", 0L));
            case "float":
                return toFloat(value, args.get(0, "default", 0.0));
            case "abs":
                return value instanceof Long number ? (Object) Math.abs(number) : Math.abs(Values.toDouble(value));
            case "default", "d": {
                Object fallback = args.get(0, "default_value", "");
                boolean byTruth = Values.truthy(args.get(1, "boolean", Boolean.FALSE));
                return value == Values.UNDEFINED || (byTruth && !Values.truthy(value)) ? fallback : value;
            }
            case "first": {
                List<Object> items = Values.iterate(value, line);
                return items.isEmpty() ? Values.UNDEFINED : items.get(0);
            }
            case "last": {
                List<Object> items = Values.iterate(value, line);
                return items.isEmpty() ? Values.UNDEFINED : items.get(items.size() - 1);
            }
            case "list":
                return Values.iterate(value, line);
            case "reverse": {
                if (value instanceof String text) {
                    return new StringBuilder(text).reverse().toString();
                }
                List<Object> items = Values.iterate(value, line);
                java.util.Collections.reverse(items);
                return items;
            }
            case "join": {
                String separator = args.string(0, "d", "");
                Object attribute = args.get(1, "attribute", null);
                StringBuilder out = new StringBuilder();
                List<Object> items = Values.iterate(value, line);
                for (int i = 0; i < items.size(); i++) {
                    Object item = attribute == null ? items.get(i) : renderer.attribute(items.get(i),
                            Values.str(attribute), line);
                    out.append(i > 0 ? separator : "").append(Values.str(item));
                }
                return out.toString();
            }
            case "items": {
                List<Object> pairs = new ArrayList<>();
                if (value instanceof Map<?, ?> map) {
                    map.forEach((key, item) -> pairs.add(pair(key, item)));
                } else if (value != Values.UNDEFINED) {
                    throw new JinjaException(line, "items: " + Values.typeName(value) + " is not a mapping");
                }
                return pairs;
            }
            case "replace": {
                String text = string(value, name, line);
                String old = args.string(0, "old", null);
                String replacement = args.string(1, "new", null);
                Object count = args.get(2, "count", null);
                return replace(text, old, replacement, count == null ? -1 : Values.toLong(count));
            }
            case "select", "reject", "selectattr", "rejectattr": {
                boolean attribute = name.endsWith("attr");
                boolean keep = name.startsWith("select");
                List<Object> result = new ArrayList<>();
                for (Object item : Values.iterate(value, line)) {
                    int first = attribute ? 1 : 0;
                    Object subject = attribute ? renderer.attribute(item, Values.str(arguments.get(0)), line) : item;
                    boolean passes = arguments.size() > first
                            ? test(Values.str(arguments.get(first)), subject,
                                    arguments.subList(first + 1, arguments.size()), renderer, line)
                            : Values.truthy(subject);
                    if (passes == keep) {
                        result.add(item);
                    }
                }
                return result;
            }
            case "map": {
                List<Object> result = new ArrayList<>();
                for (Object item : Values.iterate(value, line)) {
                    if (keywords.containsKey("attribute")) {
                        Object mapped = renderer.attribute(item, Values.str(keywords.get("attribute")), line);
                        result.add(mapped == Values.UNDEFINED && keywords.containsKey("default")
                                ? keywords.get("default") : mapped);
                    } else {
                        result.add(filter(Values.str(arguments.get(0)), item, arguments.subList(1, arguments.size()),
                                Map.of(), renderer, line));
                    }
                }
                return result;
            }
            case "sum": {
                Object total = 0L;
                for (Object item : Values.iterate(value, line)) {
                    total = renderer.arithmetic("+", total, item, line);
                }
                return total;
            }
            case "min", "max": {
                List<Object> items = Values.iterate(value, line);
                if (items.isEmpty()) {
                    return Values.UNDEFINED;
                }
                Object best = items.get(0);
                for (Object item : items) {
                    int order = Values.compare(item, best, line);
                    if (name.equals("min") ? order < 0 : order > 0) {
                        best = item;
                    }
                }
                return best;
            }
            case "unique": {
                List<Object> result = new ArrayList<>();
                for (Object item : Values.iterate(value, line)) {
                    if (result.stream().noneMatch(seen -> Values.equal(seen, item))) {
                        result.add(item);
                    }
                }
                return result;
            }
            case "round": {
                long precision = Values.toLong(args.get(0, "precision", 0L));
                // Jinja's 'common' method is Python's round(): halves to even, on the exact binary value
                return new java.math.BigDecimal(Values.toDouble(value))
                        .setScale((int) precision, java.math.RoundingMode.HALF_EVEN).doubleValue();
            }
            case "indent": {
                String text = string(value, name, line);
                Object width = args.get(0, "width", 4L);
                String pad = width instanceof String s ? s : " ".repeat((int) Values.toLong(width));
                boolean first = Values.truthy(args.get(1, "first", Boolean.FALSE));
                String indented = text.replace("\n", "\n" + pad);
                return first ? pad + indented : indented;
            }
            default:
                throw new JinjaException(line, "unknown filter '" + name + "'");
        }
    }

    static boolean test(String name, Object value, List<Object> arguments, Renderer renderer, int line) {
        return switch (name) {
            case "defined" -> value != Values.UNDEFINED;
            case "undefined" -> value == Values.UNDEFINED;
            case "none" -> value == null;
            case "boolean" -> value instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(value);
            case "false" -> Boolean.FALSE.equals(value);
            case "integer" -> value instanceof Long;
            case "float" -> value instanceof Double;
            case "number" -> value instanceof Long || value instanceof Double || value instanceof Boolean;
            case "string" -> value instanceof String;
            case "mapping" -> value instanceof Map;
            case "iterable" -> value instanceof String || value instanceof List || value instanceof Map
                    || value == Values.UNDEFINED;
            case "sequence" -> value instanceof String || value instanceof List || value instanceof Map;
            case "callable" -> value instanceof Values.Callable;
            case "equalto", "eq", "==", "sameas" -> Values.equal(value, arguments.get(0));
            case "ne", "!=" -> !Values.equal(value, arguments.get(0));
            case "lt", "lessthan", "<" -> Values.compare(value, arguments.get(0), line) < 0;
            case "le", "<=" -> Values.compare(value, arguments.get(0), line) <= 0;
            case "gt", "greaterthan", ">" -> Values.compare(value, arguments.get(0), line) > 0;
            case "ge", ">=" -> Values.compare(value, arguments.get(0), line) >= 0;
            case "in" -> Values.contains(arguments.get(0), value, line);
            case "odd" -> Values.toLong(value) % 2 != 0;
            case "even" -> Values.toLong(value) % 2 == 0;
            case "divisibleby" -> Values.toLong(value) % Values.toLong(arguments.get(0)) == 0;
            case "lower" -> value instanceof String text && text.equals(text.toLowerCase(Locale.ROOT));
            case "upper" -> value instanceof String text && text.equals(text.toUpperCase(Locale.ROOT));
            default -> throw new JinjaException(line, "unknown test '" + name + "'");
        };
    }

    /** A Python method of a string, mapping or list, bound to its target; null when there is none. */
    static Values.Callable method(Object target, String name, int line) {
        if (target instanceof String text) {
            return stringMethod(text, name, line);
        }
        if (target instanceof Map<?, ?> map && !(target instanceof Values.Namespace)) {
            return switch (name) {
                case "get" -> (arguments, keywords) -> {
                    Object key = arguments.get(0);
                    return map.containsKey(key) ? map.get(key) : arguments.size() > 1 ? arguments.get(1) : null;
                };
                case "items" -> (arguments, keywords) -> {
                    List<Object> pairs = new ArrayList<>();
                    map.forEach((key, value) -> pairs.add(pair(key, value)));
                    return pairs;
                };
                case "keys" -> (arguments, keywords) -> new ArrayList<Object>(map.keySet());
                case "values" -> (arguments, keywords) -> new ArrayList<Object>(map.values());
                default -> null;
            };
        }
        if (target instanceof List<?> list) {
            return switch (name) {
                case "index" -> (arguments, keywords) -> {
                    for (int i = 0; i < list.size(); i++) {
                        if (Values.equal(list.get(i), arguments.get(0))) {
                            return (long) i;
                        }
                    }
                    throw new JinjaException(line, Values.repr(arguments.get(0)) + " is not in list");
                };
                case "count" -> (arguments, keywords) -> list.stream()
                        .filter(item -> Values.equal(item, arguments.get(0))).count();
                default -> null;
            };
        }
        return null;
    }

    private static Values.Callable stringMethod(String text, String name, int line) {
        return switch (name) {
            case "strip", "lstrip", "rstrip" -> (arguments, keywords) -> {
                Object characters = arguments.isEmpty() ? null : arguments.get(0);
                return Values.strip(text, characters == null ? null : Values.str(characters), !name.equals("rstrip"),
                        !name.equals("lstrip"));
            };
            case "split", "rsplit" -> (arguments, keywords) -> {
                Arguments args = new Arguments(name, arguments, keywords, line);
                Object separator = args.get(0, "sep", null);
                long maxSplit = Values.toLong(args.get(1, "maxsplit", -1L));
                if (name.equals("rsplit") && maxSplit >= 0) {
                    throw new JinjaException(line, "rsplit with maxsplit is not supported");
                }
                return Values.split(text, separator == null ? null : Values.str(separator), maxSplit);
            };
            case "startswith", "endswith" -> (arguments, keywords) -> {
                Object affixes = arguments.get(0);
                List<Object> options = affixes instanceof List<?> list ? new ArrayList<>(list) : List.of(affixes);
                for (Object option : options) {
                    String affix = Values.str(option);
                    if (name.equals("startswith") ? text.startsWith(affix) : text.endsWith(affix)) {
                        return true;
                    }
                }
                return false;
            };
            case "upper" -> (arguments, keywords) -> text.toUpperCase(Locale.ROOT);
            case "lower" -> (arguments, keywords) -> text.toLowerCase(Locale.ROOT);
            case "title" -> (arguments, keywords) -> title(text);
            case "capitalize" -> (arguments, keywords) -> capitalize(text);
            case "replace" -> (arguments, keywords) -> replace(text, Values.str(arguments.get(0)),
                    Values.str(arguments.get(1)), arguments.size() > 2 ? Values.toLong(arguments.get(2)) : -1);
            case "find" -> (arguments, keywords) -> (long) text.indexOf(Values.str(arguments.get(0)));
            case "rfind" -> (arguments, keywords) -> (long) text.lastIndexOf(Values.str(arguments.get(0)));
            case "count" -> (arguments, keywords) -> (long) Values.split(text, Values.str(arguments.get(0)), -1)
                    .size() - 1;
            case "join" -> (arguments, keywords) -> {
                StringBuilder out = new StringBuilder();
                List<Object> items = Values.iterate(arguments.get(0), line);
                for (int i = 0; i < items.size(); i++) {
                    out.append(i > 0 ? text : "").append(Values.str(items.get(i)));
                }
                return out.toString();
            };
            case "splitlines" -> (arguments, keywords) -> {
                List<Object> lines = new ArrayList<>(List.of(text.split("\r\n|\n|\r", -1)));
                if (!lines.isEmpty() && Values.str(lines.get(lines.size() - 1)).isEmpty()) {
                    lines.remove(lines.size() - 1);
                }
                return lines;
            };
            case "isdigit" -> (arguments, keywords) -> !text.isEmpty() && text.chars().allMatch(Character::isDigit);
            case "isspace" -> (arguments, keywords) -> !text.isEmpty() && text.codePoints().allMatch(Values::isSpace);
            default -> null;
        };
    }

    private static String string(Object value, String filter, int line) {
        if (value == Values.UNDEFINED) {
            return "";
        }
        if (!(value instanceof String)) {
            return Values.str(value);
        }
        return (String) value;
    }

    private static String replace(String text, String old, String replacement, long count) {
        if (count < 0) {
            return text.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int start = 0;
        for (long done = 0; done < count; done++) {
            int index = text.indexOf(old, start);
            if (index < 0) {
                break;
            }
            out.append(text, start, index).append(replacement);
            start = index + old.length();
        }
        return out.append(text.substring(start)).toString();
    }

    private static String capitalize(String text) {
        return text.isEmpty() ? text : text.substring(0, 1).toUpperCase(Locale.ROOT)
                + text.substring(1).toLowerCase(Locale.ROOT);
    }

    private static String title(String text) {
        StringBuilder out = new StringBuilder();
        boolean previousCased = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            out.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousCased = Character.isLetter(c);
        }
        return out.toString();
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&#34;")
                .replace("'", "&#39;");
    }

    private static Object toInteger(Object value, Object fallback) {
        try {
            if (value instanceof String text) {
                return Long.parseLong(text.strip());
            }
            return Values.toLong(value);
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    private static Object toFloat(Object value, Object fallback) {
        try {
            if (value instanceof String text) {
                return Double.parseDouble(text.strip());
            }
            return Values.toDouble(value);
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    /** Positional-or-keyword arguments of a filter or method. */
    private record Arguments(String what, List<Object> positional, Map<String, Object> keywords, int line) {

        Object get(int index, String keyword, Object fallback) {
            if (index >= 0 && index < positional.size()) {
                return positional.get(index);
            }
            return keywords.getOrDefault(keyword, fallback);
        }

        String string(int index, String keyword, String fallback) {
            Object value = get(index, keyword, fallback);
            return value == null ? null : Values.str(value);
        }
    }

    private static Values.Tuple pair(Object key, Object value) {
        java.util.List<Object> items = new ArrayList<>();
        items.add(key);
        items.add(value);
        return new Values.Tuple(items);
    }

    static Map<String, Object> namespace(Map<String, Object> keywords) {
        Values.Namespace namespace = new Values.Namespace();
        namespace.putAll(new LinkedHashMap<>(keywords));
        return namespace;
    }
}
