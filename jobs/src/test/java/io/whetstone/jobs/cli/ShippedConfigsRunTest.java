package io.whetstone.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every conf/*.yaml run for one round or iteration, chained as its comments chain them (sft, then the stages that
 * start from its checkpoint), through {@code whetstone pipeline} in this JVM.
 *
 * <p>What is kept as shipped: every data path that training reads (GSM8K train and test in full, the story
 * examples, the real GGUF model), data formats, seq_len, tokenizers, sampling lengths, losses, reward components of
 * the RL jobs, partitions. What is changed, and why:
 * <ul>
 *   <li>sizes: a 1-layer model of width 32, one round or iteration, small batches;</li>
 *   <li>the stages that sample every prompt of their data (preference-data, distill-data, prm-data, tts) read the
 *       first 16 GSM8K problems;</li>
 *   <li>a one-round model solves no GSM8K problem, so preference-data and distill-data score by length instead of
 *       the answer (their pairs and corpus would be empty, and the stages after them refuse empty data);</li>
 *   <li>the stages training on those samples truncate: an untrained byte-level model writes invalid UTF-8, which
 *       reads back as U+FFFD, three bytes a byte, and overflows any seq_len. That the shipped seq_len fits real
 *       samples is {@code ShippedConfigsTest.sampledCorporaFitTheRowsOfTheConfigsTrainingOnThem}.</li>
 * </ul>
 */
class ShippedConfigsRunTest {

    private static final Path CONF = Path.of(System.getProperty("user.dir")).resolve("../conf").toAbsolutePath()
            .normalize();
    private static final Path ASSETS = CONF.resolve("../../shared/assets").normalize();
    private static final String TINY = "model.width: 32, model.layers: 1, model.heads: 2, model.kv_heads: 1, "
            + "model.ffn_hidden: 64";
    private static final String ONE_ROUND = "train.rounds: 1, train.batch_size_per_worker: 2, train.warmup_steps: 1";
    private static final String BY_LENGTH = "{name: short, type: length, max_tokens: 64, buffer: 48}";

    @TempDir
    Path dir;

    private String pipeline(Path train16, Path test16) {
        return """
                dir: out
                stages:
                  - name: sft
                    command: sft
                    config: %1$s/sft.yaml
                    set: {%2$s, %3$s, train.averaging_frequency: 1}
                  - name: preference_data
                    command: preference-data
                    config: %1$s/preference-data.yaml
                    set: {policy.path: "${stages.sft.checkpoint}", data.path: %4$s,
                          scoring.components: "[%6$s]"}
                  - name: dpo
                    command: dpo
                    config: %1$s/dpo.yaml
                    set: {model.init: "${stages.sft.checkpoint}", data.path: "${stages.preference_data.result}",
                          data.truncation: truncate, %3$s, train.averaging_frequency: 1}
                  - name: reward_model
                    command: reward-model
                    config: %1$s/reward-model.yaml
                    set: {model.init: "${stages.sft.checkpoint}", data.path: "${stages.preference_data.result}",
                          data.truncation: truncate, %3$s}
                  - name: grpo
                    command: grpo
                    config: %1$s/grpo.yaml
                    set: {model.init: "${stages.sft.checkpoint}", train.iterations: 1,
                          rollout.prompts_per_iteration: 2, rollout.group_size: 2, eval.max_prompts: 2}
                  - name: ppo
                    command: ppo
                    config: %1$s/ppo.yaml
                    set: {model.init: "${stages.sft.checkpoint}", train.iterations: 1,
                          rollout.prompts_per_iteration: 2, eval.max_prompts: 2}
                  - name: grpo_stories
                    command: grpo
                    config: %1$s/grpo-stories.yaml
                    set: {train.iterations: 1, rollout.prompts_per_iteration: 4, eval.max_prompts: 4}
                  - name: distill_data
                    command: distill-data
                    config: %1$s/distill-data.yaml
                    set: {teacher.path: "${stages.grpo.checkpoint}", data.path: %4$s,
                          filter.verifier: "%6$s", filter.min_reward: 0}
                  - name: distill
                    command: distill
                    config: %1$s/distill.yaml
                    set: {data.path: "${stages.distill_data.result}/corpus.jsonl", data.truncation: truncate,
                          distill.teacher: "${stages.sft.checkpoint}", %2$s, %3$s, train.averaging_frequency: 1}
                  - name: prm_data
                    command: prm-data
                    config: %1$s/prm-data.yaml
                    set: {policy.path: "${stages.sft.checkpoint}", data.path: %4$s}
                  - name: prm
                    command: prm
                    config: %1$s/prm.yaml
                    set: {model.init: "${stages.sft.checkpoint}", data.path: "${stages.prm_data.result}", %3$s}
                  - name: tts
                    command: tts
                    config: %1$s/tts.yaml
                    set: {policy.path: "${stages.sft.checkpoint}", data.path: %5$s}
                  - name: generate
                    command: generate
                    config: %1$s/generate.yaml
                """.formatted(CONF, TINY, ONE_ROUND, train16, test16, BY_LENGTH);
    }

    @Test
    void everyShippedConfigRunsOneRoundInTheChainItsCommentsDescribe() throws IOException {
        Path train16 = Files.write(dir.resolve("gsm8k-train-16.jsonl"),
                Files.readAllLines(ASSETS.resolve("gsm8k_train.jsonl")).subList(0, 16));
        Path test16 = Files.write(dir.resolve("gsm8k-test-16.jsonl"),
                Files.readAllLines(ASSETS.resolve("gsm8k_test.jsonl")).subList(0, 16));
        String yaml = pipeline(train16, test16);
        Path file = Files.writeString(dir.resolve("shipped.yaml"), yaml);

        TreeSet<String> used = new TreeSet<>();
        Matcher config = Pattern.compile("config: " + Pattern.quote(CONF.toString()) + "/(\\S+)").matcher(yaml);
        while (config.find()) {
            used.add(config.group(1));
        }
        try (Stream<Path> files = Files.list(CONF)) {
            assertEquals(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .collect(java.util.stream.Collectors.toCollection(TreeSet::new)), used,
                    "a new conf/*.yaml needs a stage here");
        }

        SparkTestSession.get();
        Run run = Run.of("pipeline", "--config", file.toString());
        assertEquals(0, run.code(), run.out() + run.err());
        Path out = dir.resolve("out");
        JsonNode summary = new ObjectMapper().readTree(out.resolve("pipeline.json").toFile());
        List<String> notRan = new ArrayList<>();
        summary.path("stages").forEach(stage -> {
            if (!stage.path("outcome").asText().equals("ran")
                    || !Files.exists(out.resolve(stage.path("name").asText()).resolve("_SUCCESS"))) {
                notRan.add(stage.toString());
            }
        });
        assertEquals(13, summary.path("stages").size());
        assertTrue(notRan.isEmpty(), "stages that did not complete: " + notRan);

        // the shipped seq_len reached the model SFT trained: rows of 2,048 tokens of GSM8K, none refused
        String sftConfig = Files.readString(out.resolve("sft/checkpoints/round-000001/config.json"));
        assertTrue(sftConfig.contains("\"max_position_embeddings\" : 2048"), sftConfig);
    }
}
