package io.whetstone.jobs.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.config.ConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A pipeline file: {@code dir} (the pipeline directory, where each stage gets its own directory), {@code vars}
 * (named values the stages use as {@code ${vars.NAME}}, overridable with {@code --var NAME=value}) and
 * {@code stages}, a list of {@link StageSpec}s. Relative paths in it ({@code dir}, {@code config}, and path keys in
 * {@code set}) resolve against the file's directory, as in job configs. An optional {@code forgetting} section
 * ({@link ForgettingSpec}) names held-out corpora every trained model is measured on. Every mistake is an error
 * naming the file, the stage and the key.
 *
 * @param forgetting the corpora every trained model is measured on, or null
 */
public record PipelineSpec(Path file, String dir, Map<String, String> vars, List<StageSpec> stages,
                           ForgettingSpec forgetting) {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]*");
    private static final Set<String> TOP_KEYS = Set.of("dir", "vars", "stages", "forgetting");
    private static final Set<String> STAGE_KEYS = Set.of("name", "command", "config", "set", "args", "after");

    public PipelineSpec {
        vars = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(vars));
        stages = List.copyOf(stages);
    }

    /** This pipeline with {@code name=value} settings of its {@code vars} (each must be declared in the file). */
    public PipelineSpec withVars(List<String> settings) {
        Map<String, String> values = new LinkedHashMap<>(vars);
        for (String setting : settings) {
            int equals = setting.indexOf('=');
            String name = equals > 0 ? setting.substring(0, equals) : setting;
            if (equals <= 0 || !vars.containsKey(name)) {
                throw new ConfigException("--var " + setting + ": expected name=value with a name the pipeline's "
                        + "vars declare (" + String.join(", ", vars.keySet()) + ")");
            }
            values.put(name, setting.substring(equals + 1));
        }
        return new PipelineSpec(file, dir, values, stages, forgetting);
    }

    /** Reads and checks {@code file}; {@code knownCommands} are the commands a stage may run. */
    public static PipelineSpec read(Path file, Set<String> knownCommands) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("pipeline file " + file + " does not exist");
        }
        JsonNode root;
        try {
            root = YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw new ConfigException(file + ": not valid YAML: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ConfigException(file + ": expected a mapping with 'dir' and 'stages'");
        }
        checkKeys(file, root, TOP_KEYS, "the top level");
        Path base = file.toAbsolutePath().normalize().getParent();
        String dir = root.path("dir").isTextual() ? resolve(base, root.get("dir").asText()) : null;
        Map<String, String> vars = new LinkedHashMap<>();
        JsonNode declared = root.path("vars");
        if (!declared.isMissingNode() && !declared.isNull()) {
            if (!declared.isObject()) {
                throw new ConfigException(file + ": 'vars' must map names to values, e.g. train_problems: 20000");
            }
            declared.fields().forEachRemaining(var -> vars.put(var.getKey(), var.getValue().isTextual()
                    ? var.getValue().asText() : var.getValue().toString()));
        }
        JsonNode list = root.path("stages");
        if (!list.isArray() || list.isEmpty()) {
            throw new ConfigException(file + ": 'stages' must be a non-empty list of stages");
        }
        List<StageSpec> stages = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            StageSpec stage = stage(file, base, list.get(i), i, knownCommands);
            if (!names.add(stage.name())) {
                throw new ConfigException(file + ": two stages are named '" + stage.name() + "'");
            }
            stages.add(stage);
        }
        for (StageSpec stage : stages) {
            for (String before : stage.after()) {
                if (!names.contains(before)) {
                    throw new ConfigException(file + ": stage '" + stage.name() + "': after: no stage named '"
                            + before + "' (stages: " + String.join(", ", names) + ")");
                }
            }
        }
        return new PipelineSpec(file, dir, vars, stages, ForgettingSpec.read(file, base, root.path("forgetting")));
    }

    private static StageSpec stage(Path file, Path base, JsonNode node, int index, Set<String> knownCommands) {
        String where = file + ": stages[" + index + "]";
        if (!node.isObject()) {
            throw new ConfigException(where + ": expected a mapping with name and command");
        }
        String name = node.path("name").asText("");
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException(where + ": name '" + name + "' must be lower-case letters, digits, '_' or '-', "
                    + "starting with a letter");
        }
        where = file + ": stage '" + name + "'";
        checkKeys(file, node, STAGE_KEYS, "stage '" + name + "'");
        String command = node.path("command").asText("");
        if (!knownCommands.contains(command)) {
            throw new ConfigException(where + ": command '" + command + "' is not a Whetstone command (one of "
                    + String.join(", ", new java.util.TreeSet<>(knownCommands)) + ")");
        }
        String config = node.hasNonNull("config") ? resolve(base, node.get("config").asText()) : null;
        if (config != null && !Files.isRegularFile(Path.of(config))) {
            throw new ConfigException(where + ": config file " + config + " does not exist");
        }
        Map<String, String> set = new LinkedHashMap<>();
        JsonNode settings = node.path("set");
        if (!settings.isMissingNode() && !settings.isNull()) {
            if (!settings.isObject()) {
                throw new ConfigException(where + ": 'set' must map config keys to values, e.g. train.rounds: 40");
            }
            Iterator<Map.Entry<String, JsonNode>> fields = settings.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> field = fields.next();
                String value = field.getValue().isTextual() ? field.getValue().asText() : field.getValue().toString();
                set.put(field.getKey(), ConfigLoader.isPathKey(field.getKey()) ? resolve(base, value) : value);
            }
        }
        return new StageSpec(name, command, config, set, texts(where, node.path("args"), "args"),
                texts(where, node.path("after"), "after"));
    }

    private static List<String> texts(String where, JsonNode node, String key) {
        List<String> texts = new ArrayList<>();
        if (node.isMissingNode() || node.isNull()) {
            return texts;
        }
        if (!node.isArray()) {
            throw new ConfigException(where + ": '" + key + "' must be a list");
        }
        node.forEach(element -> texts.add(element.isTextual() ? element.asText() : element.toString()));
        return texts;
    }

    private static void checkKeys(Path file, JsonNode node, Set<String> known, String where) {
        node.fieldNames().forEachRemaining(key -> {
            if (!known.contains(key)) {
                throw new ConfigException(file + ": unknown key '" + key + "' in " + where + " (known keys: "
                        + String.join(", ", new java.util.TreeSet<>(known)) + ")");
            }
        });
    }

    /**
     * {@code value} against {@code base} when it is a relative file path; absolute paths, URIs, placeholders and
     * the words a path key may hold instead of a path are left as written.
     */
    static String resolve(Path base, String value) {
        String text = value.trim();
        if (text.isEmpty() || text.startsWith("/") || text.startsWith("${") || text.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*")
                || Set.of("scratch", "auto", "none").contains(text)) {
            return value;
        }
        return base.resolve(text).normalize().toString();
    }
}
