package io.whetstone.jobs.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads a job config: the job's built-in defaults, then the user's YAML file, then {@code key=value}
 * overrides (dotted keys, YAML values), merged in that order and bound to the job's config record.
 * Every key must exist in the defaults (an unknown key is an error naming it), and every record
 * validates its values in its constructor (the error names the section and the value).
 */
public final class ConfigLoader {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES);

    private ConfigLoader() {
    }

    /**
     * Binds {@code type} from the defaults resource {@code defaultsResource}, the optional file and the
     * overrides.
     */
    public static <T> T load(Class<T> type, String defaultsResource, Path file, List<String> overrides) {
        ObjectNode tree = defaults(defaultsResource);
        if (file != null) {
            merge(tree, readFile(file), "");
        }
        for (String override : overrides) {
            apply(tree, override);
        }
        return bind(tree, type);
    }

    /** The merged tree, for writing the resolved config. */
    public static ObjectNode resolvedTree(Object config) {
        return MAPPER.valueToTree(config);
    }

    /** YAML text of {@code config} with snake_case keys. */
    public static String toYaml(Object config) {
        try {
            return YAML.writeValueAsString(resolvedTree(config));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** JSON text of {@code config} with snake_case keys. */
    public static String toJson(Object config) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(config);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Binds a JSON/YAML tree to {@code type} (used when reading a resolved config back). */
    public static <T> T bind(JsonNode tree, Class<T> type) {
        try {
            return MAPPER.treeToValue(tree, type);
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException("unknown key " + path(e, e.getPropertyName()) + " (known keys here: "
                    + e.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.joining(", "))
                    + ")");
        } catch (ValueInstantiationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new ConfigException("invalid " + sectionOf(e) + ": " + cause.getMessage(), cause);
        } catch (JsonMappingException e) {
            throw new ConfigException("invalid value for " + path(e, null) + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ConfigException("cannot read config: " + e.getMessage(), e);
        }
    }

    /**
     * The path-valued keys of config file {@code file} (dotted, with list indices: {@code data.path},
     * {@code rewards.components[1].path}) and their values, relative ones resolved against the file's directory as
     * the jobs read them; for fingerprinting a job's inputs.
     */
    public static Map<String, String> pathValues(Path file) {
        Map<String, String> paths = new java.util.TreeMap<>();
        collectPaths(readFile(file), "", paths);
        return paths;
    }

    /** Whether the defaults resource {@code resource} has dotted key {@code key}, i.e. whether the job takes it. */
    public static boolean hasKey(String resource, String key) {
        JsonNode node = defaults(resource);
        for (String part : key.split("\\.")) {
            node = node.path(part);
        }
        return !node.isMissingNode();
    }

    /** Whether dotted key {@code key} names a file system path ({@code data.path}, {@code model.init}, ...). */
    public static boolean isPathKey(String key) {
        return PATH_KEYS.contains(key.substring(key.lastIndexOf('.') + 1));
    }

    private static void collectPaths(JsonNode node, String prefix, Map<String, String> paths) {
        if (node.isObject()) {
            node.fields().forEachRemaining(field -> {
                String key = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
                if (field.getValue().isTextual() && PATH_KEYS.contains(field.getKey())
                        && !PATH_WORDS.contains(field.getValue().asText().trim())) {
                    paths.put(key, field.getValue().asText());
                } else {
                    collectPaths(field.getValue(), key, paths);
                }
            });
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collectPaths(node.get(i), prefix + "[" + i + "]", paths);
            }
        }
    }

    private static ObjectNode defaults(String resource) {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing defaults resource " + resource);
            }
            return (ObjectNode) YAML.readTree(in);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read defaults " + resource, e);
        }
    }

    private static JsonNode readFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("config file " + file + " does not exist");
        }
        try {
            JsonNode node = YAML.readTree(file.toFile());
            if (node == null || node.isNull() || node.isMissingNode()) {
                return MAPPER.createObjectNode();
            }
            if (!node.isObject()) {
                throw new ConfigException(file + ": expected a mapping of sections at the top level");
            }
            resolvePaths(node, file.toAbsolutePath().normalize().getParent());
            return node;
        } catch (IOException e) {
            throw new ConfigException(file + ": not valid YAML: " + e.getMessage(), e);
        }
    }

    /** Keys whose values are file system paths (at any depth, also inside lists such as rewards.components). */
    private static final java.util.Set<String> PATH_KEYS = java.util.Set.of("path", "dir", "init", "cache_dir",
            "reference", "reward_model", "teacher");
    /** Values of path keys that are not paths. */
    private static final java.util.Set<String> PATH_WORDS = java.util.Set.of("", "scratch", "auto", "none");

    /**
     * Makes the relative paths written in a config file relative to the file's directory, so a config runs the
     * same from any working directory (a shipped config run from elsewhere read its data relative to wherever the
     * user stood). Paths with a scheme (hdfs://, s3a://, file:) or absolute ones are left as they are, and so are
     * command-line overrides, which are relative to the working directory as a user typing them expects.
     */
    static void resolvePaths(JsonNode node, java.nio.file.Path base) {
        if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                JsonNode value = field.getValue();
                if (value.isTextual() && PATH_KEYS.contains(field.getKey()) && isRelativePath(value.asText())) {
                    field.setValue(MAPPER.getNodeFactory().textNode(
                            base.resolve(value.asText()).normalize().toString()));
                } else {
                    resolvePaths(value, base);
                }
            }
        } else if (node.isArray()) {
            node.forEach(element -> resolvePaths(element, base));
        }
    }

    private static boolean isRelativePath(String text) {
        String value = text.trim();
        return !PATH_WORDS.contains(value) && !value.startsWith("/") && !value.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*");
    }

    /** Deep-merges {@code source} into {@code target}; keys not in target are kept (and rejected at binding). */
    private static void merge(ObjectNode target, JsonNode source, String prefix) {
        Iterator<Map.Entry<String, JsonNode>> fields = source.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode existing = target.get(field.getKey());
            if (existing != null && existing.isObject() && field.getValue().isObject()) {
                merge((ObjectNode) existing, field.getValue(), prefix + field.getKey() + ".");
            } else if (existing != null && existing.isObject() && !field.getValue().isNull()) {
                throw new ConfigException(prefix + field.getKey() + " is a section; set its keys, e.g. "
                        + prefix + field.getKey() + "." + existing.fieldNames().next());
            } else {
                target.set(field.getKey(), field.getValue());
            }
        }
    }

    private static void apply(ObjectNode tree, String override) {
        int equals = override.indexOf('=');
        if (equals <= 0) {
            throw new ConfigException("override '" + override + "' is not key=value");
        }
        String key = override.substring(0, equals).trim();
        String text = override.substring(equals + 1);
        JsonNode value;
        try {
            value = text.isEmpty() ? MAPPER.getNodeFactory().textNode("") : YAML.readTree(text);
        } catch (IOException e) {
            throw new ConfigException("override " + key + ": value '" + text + "' is not valid YAML");
        }
        String[] parts = key.split("\\.");
        ObjectNode node = tree;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = node.get(parts[i]);
            if (child == null || !child.isObject()) {
                throw new ConfigException("unknown key " + key + " (no section " + String.join(".",
                        List.of(parts).subList(0, i + 1)) + ")");
            }
            node = (ObjectNode) child;
        }
        String last = parts[parts.length - 1];
        if (!node.has(last)) {
            throw new ConfigException("unknown key " + key + " (known keys here: "
                    + iteratorToString(node.fieldNames()) + ")");
        }
        if (node.get(last).isObject()) {
            if (value.isObject()) {
                merge((ObjectNode) node.get(last), value, key + "."); // key={a: 1, b: 2} sets the section's keys
                return;
            }
            throw new ConfigException(key + " is a section; set one of its keys: " + iteratorToString(
                    node.get(last).fieldNames()));
        }
        node.set(last, value);
    }

    private static String iteratorToString(Iterator<String> names) {
        StringBuilder text = new StringBuilder();
        names.forEachRemaining(name -> text.append(text.length() == 0 ? "" : ", ").append(name));
        return text.toString();
    }

    private static String path(JsonMappingException e, String leaf) {
        StringBuilder text = new StringBuilder();
        for (JsonMappingException.Reference reference : e.getPath()) {
            if (reference.getFieldName() != null) {
                text.append(text.length() == 0 ? "" : ".").append(reference.getFieldName());
            } else if (reference.getIndex() >= 0) {
                text.append('[').append(reference.getIndex()).append(']');
            }
        }
        if (leaf != null && !text.toString().endsWith(leaf)) {
            text.append(text.length() == 0 ? "" : ".").append(leaf);
        }
        return text.toString();
    }

    private static String sectionOf(JsonMappingException e) {
        String path = path(e, null);
        return path.isEmpty() ? "config" : path;
    }
}
