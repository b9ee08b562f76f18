package io.whetstone.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.jobs.pipeline.PipelineSpec;
import io.whetstone.jobs.pipeline.Placeholders;
import io.whetstone.jobs.pipeline.StageOrder;
import io.whetstone.jobs.pipeline.StageSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every pipeline in conf/pipelines as shipped: it reads, its stages order, and each stage's settings bind to its
 * command's config (no unknown key, no invalid value), with every placeholder standing in for a path.
 */
class ShippedPipelinesTest {

    private static final Path PIPELINES = Path.of(System.getProperty("user.dir")).resolve("../conf/pipelines")
            .toAbsolutePath().normalize();
    private static final Map<String, BiFunction<Path, List<String>, Object>> LOADERS = Map.ofEntries(
            Map.entry("sft", SftConfig::load), Map.entry("distill", SftConfig::load),
            Map.entry("dpo", DpoConfig::load),
            Map.entry("reward-model", (f, o) -> DpoConfig.load(f, with(o, "preference.loss=bradley_terry"))),
            Map.entry("grpo", (f, o) -> RlConfig.load(f, with(o, "algorithm.name=grpo"))),
            Map.entry("ppo", (f, o) -> RlConfig.load(f, with(o, "algorithm.name=ppo"))),
            Map.entry("preference-data", PreferenceDataConfig::load), Map.entry("prm-data", PrmDataConfig::load),
            Map.entry("prm", PrmConfig::load), Map.entry("tts", TtsConfig::load),
            Map.entry("distill-data", DistillDataConfig::load), Map.entry("generate", GenerateConfig::load));

    private static List<String> with(List<String> overrides, String extra) {
        List<String> all = new ArrayList<>(overrides);
        all.add(extra);
        return all;
    }

    @Test
    void everyShippedPipelineReadsOrdersAndBinds() throws IOException {
        List<Path> files;
        try (Stream<Path> list = Files.list(PIPELINES)) {
            files = list.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        for (Path file : files) {
            PipelineSpec spec = PipelineSpec.read(file, io.whetstone.jobs.cli.PipelineCommand.commands());
            assertEquals(spec.stages().size(), StageOrder.order(spec).size(), file.toString());
            for (StageSpec stage : spec.stages()) {
                BiFunction<Path, List<String>, Object> loader = LOADERS.get(stage.command());
                if (loader == null) {
                    continue; // a command with arguments, not a config
                }
                Map<String, String> set = new java.util.LinkedHashMap<>();
                stage.set().forEach((key, value) -> set.put(key, Placeholders.substitute(value,
                        name -> name.startsWith("vars.") ? spec.vars().get(name.substring(5)) : "/tmp/placeholder",
                        file + " " + stage.name())));
                io.whetstone.jobs.pipeline.PipelineRunner.addStageKeys(stage.command(), set, "/tmp/placeholder-run");
                List<String> overrides = new ArrayList<>();
                set.forEach((key, value) -> overrides.add(key + "=" + value));
                Object config = loader.apply(stage.config() == null ? null : Path.of(stage.config()), overrides);
                assertTrue(config != null, stage.name());
            }
        }
    }
}
