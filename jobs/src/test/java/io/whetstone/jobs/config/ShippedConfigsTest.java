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

    /**
     * A sampled corpus fits the rows of the config that trains on it: the longest prompt of the sampling config's
     * data (as the byte tokenizer of conf/sft.yaml's model reads it: BOS and the question's prompt) plus its
     * max_new_tokens and EOS, within the training config's seq_len + 1. conf/dpo.yaml once had 384 for GSM8K's
     * prompts of up to ~1,010 bytes, and failed on the pairs conf/preference-data.yaml writes.
     */
    @Test
    void sampledCorporaFitTheRowsOfTheConfigsTrainingOnThem() throws IOException {
        PreferenceDataConfig pairs = PreferenceDataConfig.load(CONF.resolve("preference-data.yaml"), List.of());
        DistillDataConfig rationales = DistillDataConfig.load(CONF.resolve("distill-data.yaml"), List.of());
        int pairsLongest = longestPrompt(pairs.data().path()) + pairs.sampling().maxNewTokens() + 2;
        int rationalesLongest = longestPrompt(rationales.data().path()) + rationales.sampling().maxNewTokens() + 2;
        DpoConfig dpo = DpoConfig.load(CONF.resolve("dpo.yaml"), List.of());
        DpoConfig rewardModel = DpoConfig.load(CONF.resolve("reward-model.yaml"),
                List.of("preference.loss=bradley_terry"));
        SftConfig distill = SftConfig.load(CONF.resolve("distill.yaml"), List.of());
        assertTrue(pairsLongest <= dpo.data().seqLen() + 1, "dpo.yaml data.seq_len " + dpo.data().seqLen()
                + " < " + pairsLongest);
        assertTrue(pairsLongest <= rewardModel.data().seqLen() + 1, "reward-model.yaml data.seq_len "
                + rewardModel.data().seqLen() + " < " + pairsLongest);
        assertTrue(rationalesLongest <= distill.data().seqLen() + 1, "distill.yaml data.seq_len "
                + distill.data().seqLen() + " < " + rationalesLongest);
    }

    /** Bytes of the longest GSM8K question as a prompt. */
    private static int longestPrompt(String gsm8k) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        int longest = 0;
        for (String line : Files.readAllLines(Path.of(gsm8k))) {
            String question = json.readTree(line).get("question").asText();
            longest = Math.max(longest, new io.whetstone.datasets.records.ChatTemplateSpec().questionPrompt(question)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        }
        return longest;
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
