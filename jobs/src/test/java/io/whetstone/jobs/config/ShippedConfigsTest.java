package io.whetstone.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every config in conf/ as shipped: it binds (no unknown key, every value valid), its relative paths resolve
 * against conf/ whatever the working directory, and each input it reads is either in the repository or the shared
 * assets, or the output of another shipped config (the chain sft -> preference-data -> dpo, and so on).
 */
class ShippedConfigsTest {

    private static final Path CONF = Path.of(System.getProperty("user.dir")).resolve("../conf").toAbsolutePath()
            .normalize();

    /** conf file -> how its command loads it. */
    private static final Map<String, Function<Path, Object>> LOADERS = new LinkedHashMap<>();

    static {
        LOADERS.put("sft.yaml", f -> SftConfig.load(f, List.of()));
        LOADERS.put("distill.yaml", f -> SftConfig.load(f, List.of()));
        LOADERS.put("dpo.yaml", f -> DpoConfig.load(f, List.of()));
        LOADERS.put("reward-model.yaml", f -> DpoConfig.load(f, List.of("preference.loss=bradley_terry")));
        LOADERS.put("grpo.yaml", f -> RlConfig.load(f, List.of()));
        LOADERS.put("ppo.yaml", f -> RlConfig.load(f, List.of()));
        LOADERS.put("grpo-stories.yaml", f -> RlConfig.load(f, List.of()));
        LOADERS.put("distill-data.yaml", f -> DistillDataConfig.load(f, List.of()));
        LOADERS.put("preference-data.yaml", f -> PreferenceDataConfig.load(f, List.of()));
        LOADERS.put("prm-data.yaml", f -> PrmDataConfig.load(f, List.of()));
        LOADERS.put("prm.yaml", f -> PrmConfig.load(f, List.of()));
        LOADERS.put("tts.yaml", f -> TtsConfig.load(f, List.of()));
        LOADERS.put("generate.yaml", f -> GenerateConfig.load(f, List.of()));
    }

    @Test
    void everyShippedConfigIsKnownHere() throws IOException {
        try (Stream<Path> files = Files.list(CONF)) {
            List<String> shipped = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .sorted().toList();
            assertEquals(LOADERS.keySet().stream().sorted().toList(), shipped,
                    "a new conf/*.yaml needs its loader here, so the checks below cover it");
        }
    }

    @Test
    void everyInputExistsOrIsAnotherShippedConfigsOutput() {
        Map<String, Map<String, String>> paths = new LinkedHashMap<>();
        List<String> outputs = new ArrayList<>();
        for (Map.Entry<String, Function<Path, Object>> entry : LOADERS.entrySet()) {
            Object config = entry.getValue().apply(CONF.resolve(entry.getKey()));
            Map<String, String> found = new LinkedHashMap<>();
            collect("", ConfigLoader.resolvedTree(config), found);
            paths.put(entry.getKey(), found);
            found.forEach((key, value) -> {
                if (key.equals("run.dir") || key.equals("output.path")) {
                    outputs.add(value);
                }
            });
        }
        List<String> problems = new ArrayList<>();
        paths.forEach((file, found) -> found.forEach((key, value) -> {
            if (key.equals("run.dir") || key.equals("output.path")) {
                assertTrue(value.startsWith(CONF.getParent().toString()), file + " " + key + " " + value);
                return;
            }
            boolean exists = Files.exists(Path.of(value));
            boolean produced = outputs.stream().anyMatch(out -> value.startsWith(out + "/"));
            if (!exists && !produced) {
                problems.add(file + ": " + key + " = " + value);
            }
        }));
        assertTrue(problems.isEmpty(), "inputs that neither exist nor are written by a shipped config:\n"
                + String.join("\n", problems));
    }

    @Test
    void relativePathsResolveAgainstTheConfigFileNotTheWorkingDirectory() {
        SftConfig config = SftConfig.load(CONF.resolve("sft.yaml"), List.of("run.dir=elsewhere/run"));
        assertEquals(CONF.resolveSibling("../shared/assets/gsm8k_train.jsonl").normalize().toString(),
                config.data().path());
        assertEquals("elsewhere/run", config.run().dir(), "a command-line override stays as the user typed it");
        assertEquals(CONF.resolveSibling("runs/sft-gsm8k").toString(),
                SftConfig.load(CONF.resolve("sft.yaml"), List.of()).run().dir());
        assertEquals("hdfs:///x/y", SftConfig.load(CONF.resolve("sft.yaml"), List.of("data.path=hdfs:///x/y")).data()
                .path());
    }

    /** Path-valued keys (the loader's list) that hold a local absolute path, by dotted key. */
    private static void collect(String prefix, com.fasterxml.jackson.databind.JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(field -> {
                String key = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
                com.fasterxml.jackson.databind.JsonNode value = field.getValue();
                if (value.isTextual() && PATH_KEYS.contains(field.getKey()) && value.asText().startsWith("/")) {
                    out.put(key, value.asText());
                } else {
                    collect(key, value, out);
                }
            });
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collect(prefix + "[" + i + "]", node.get(i), out);
            }
        }
    }

    private static final List<String> PATH_KEYS = List.of("path", "dir", "init", "teacher", "reference",
            "reward_model", "cache_dir");
}
