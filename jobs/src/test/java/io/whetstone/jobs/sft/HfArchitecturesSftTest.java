package io.whetstone.jobs.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jobs on the architectures beyond Llama: LoRA SFT on Spark from Hugging Face directories that transformers
 * wrote (the models module's golden models), with the architecture's own adapter modules; the merged export keeps
 * the model_type and reloads as the trained model.
 */
class HfArchitecturesSftTest {

    private static Path golden(String name) {
        return Path.of("..", "models", "src", "test", "resources", "hf-golden", name).toAbsolutePath().normalize();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"qwen3|[q_proj, k_proj, v_proj, o_proj]", "phi3|[qkv_proj, gate_up_proj]",
        "gemma|[q_proj, v_proj, down_proj]"})
    void loraSftTrainsAndExportsTheSameArchitecture(String name, String targets, @TempDir Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            lines.add("{\"prompt\": \"w" + (10 + i % 3) + " w20 w21\", \"completion\": \" w30 w31 w32 w" + (40 + i % 3)
                    + "\"}");
        }
        Path data = TestData.write(dir, "words.jsonl", lines);
        SftResult result = new SftJob(SparkTestSession.get(), SftConfig.load(null, List.of(
                "run.dir=" + dir.resolve("run").toUri(), "data.path=" + data.toUri(), "data.seq_len=16",
                "model.init=" + golden(name).toUri(), "train.rounds=4", "train.averaging_frequency=2",
                "train.batch_size_per_worker=4", "train.lr=0.02", "train.warmup_steps=1", "spark.partitions=2",
                "spark.threads_per_task=1", "lora.enabled=true", "lora.rank=4", "lora.alpha=8",
                "lora.targets=" + targets))).run();
        assertTrue(result.lastLoss() < result.firstLoss(), name + ": " + result.firstLoss() + " -> " + result.lastLoss());
        Path last = Path.of(java.net.URI.create(result.checkpoint()));
        ObjectMapper json = new ObjectMapper();
        JsonNode adapterConfig = json.readTree(last.resolve("adapter_config.json").toFile());
        assertEquals(json.readTree(targets.replace("[", "[\"").replace("]", "\"]").replace(", ", "\", \"")),
                adapterConfig.get("target_modules"));
        JsonNode original = json.readTree(golden(name).resolve("config.json").toFile());
        JsonNode exported = json.readTree(last.resolve("merged/config.json").toFile());
        assertEquals(original.get("model_type"), exported.get("model_type"));
        assertEquals(original.get("architectures"), exported.get("architectures"));
        assertTrue(Files.exists(last.resolve("merged/tokenizer.json")));
        CheckpointStore.ModelAndTokenizer merged = CheckpointStore.loadModel(new HadoopFiles(new Configuration()),
                last.resolve("merged").toUri().toString());
        assertEquals(name, merged.config().architecture().modelType());
        org.junit.jupiter.api.Assertions.assertArrayEquals(result.modelParams(), merged.params(), 0f);
    }
}
