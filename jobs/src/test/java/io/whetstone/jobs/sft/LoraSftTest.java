package io.whetstone.jobs.sft;

import io.whetstone.jobs.config.InjectedFailure;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LoRA SFT from the real stories260K model: only adapters move, PEFT and merged exports, exact resume. */
class LoraSftTest {

    private static List<String> settings(Path data, Path run, boolean lora) {
        String gguf = Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf")
                .toUri().toString();
        List<String> settings = new ArrayList<>(List.of("run.dir=" + run.toUri(), "data.path=" + data.toUri(),
                "data.seq_len=64", "model.init=" + gguf, "train.rounds=4", "train.averaging_frequency=2",
                "train.batch_size_per_worker=4", "train.lr=0.01", "train.warmup_steps=1", "spark.partitions=2",
                "spark.threads_per_task=1", "checkpoint.every_rounds=2"));
        if (lora) {
            settings.addAll(List.of("lora.enabled=true", "lora.rank=4", "lora.alpha=8", "lora.dropout=0.1",
                    "lora.targets=[q_proj, v_proj, down_proj]"));
        }
        return settings;
    }

    private static Path corpus(Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add("{\"prompt\": \"Tim had a red ball" + (i % 4) + ".\", \"completion\": \" He threw it to his dog.\"}");
        }
        return TestData.write(dir, "stories.jsonl", lines);
    }

    @Test
    void adaptersTrainMoveLittleAndExportAsPeftAndMerged(@TempDir Path dir) throws IOException {
        Path data = corpus(dir);
        SftResult full = new SftJob(SparkTestSession.get(), SftConfig.load(null, settings(data, dir.resolve("full"), false)))
                .run();
        SftResult lora = new SftJob(SparkTestSession.get(), SftConfig.load(null, settings(data, dir.resolve("lora"), true)))
                .run();
        assertTrue(lora.bytesPerRound() * 20 < full.bytesPerRound(),
                "LoRA moves " + lora.bytesPerRound() + " bytes per round, full " + full.bytesPerRound());
        assertTrue(lora.lastLoss() < lora.firstLoss(), lora.firstLoss() + " -> " + lora.lastLoss());

        Path last = Path.of(java.net.URI.create(lora.checkpoint()));
        assertTrue(Files.exists(last.resolve("adapter_model.safetensors")));
        assertFalse(Files.exists(last.resolve("model.safetensors")), "adapters only, not the base");
        JsonNode adapterConfig = new ObjectMapper().readTree(last.resolve("adapter_config.json").toFile());
        assertEquals("LORA", adapterConfig.get("peft_type").asText());
        assertEquals(4, adapterConfig.get("r").asInt());
        assertTrue(Files.exists(last.resolve("merged/model.safetensors")), "the final checkpoint holds the merged model");
        CheckpointStore.ModelAndTokenizer merged = CheckpointStore.loadModel(new HadoopFiles(new Configuration()),
                last.resolve("merged").toUri().toString());
        assertArrayEquals(lora.modelParams(), merged.params(), 0f);

        // the adapter directory works where a model does: its GGUF base was written once as a Hugging Face
        // directory for PEFT, and loading the adapters merges them into it
        HadoopFiles files = new HadoopFiles(new Configuration());
        String baseName = adapterConfig.get("base_model_name_or_path").asText();
        assertTrue(baseName.startsWith("/"), "a plain local path, as PEFT reads it: " + baseName);
        Path base = Path.of(baseName);
        assertTrue(Files.exists(base.resolve("model.safetensors")), base.toString());
        assertEquals(last.getParent(), base.getParent(), "beside the checkpoints");
        assertArrayEquals(lora.modelParams(), ModelSources.load(files, last.toUri().toString()).params(), 0f);
        Path out = dir.resolve("merged-by-command");
        assertEquals(0, io.whetstone.jobs.cli.Whetstone.execute("merge", "--adapter",
                last.toUri().toString(), "--to", out.toUri().toString()));
        assertArrayEquals(lora.modelParams(), CheckpointStore.loadModel(files, out.toUri().toString()).params(), 0f);
        assertEquals(2, io.whetstone.jobs.cli.Whetstone.execute("merge", "--adapter",
                out.toUri().toString(), "--to", dir.resolve("again").toUri().toString()), "a full model is no adapter");
    }

    @Test
    void killedLoraRunResumesToTheSameAdapters(@TempDir Path dir) throws IOException {
        Path data = corpus(dir);
        SftResult straight = new SftJob(SparkTestSession.get(),
                SftConfig.load(null, settings(data, dir.resolve("straight"), true))).run();
        List<String> failing = settings(data, dir.resolve("killed"), true);
        failing.add("debug.fail_after_round=3");
        assertThrows(InjectedFailure.class,
                () -> new SftJob(SparkTestSession.get(), SftConfig.load(null, failing)).run());
        SftResult resumed = new SftJob(SparkTestSession.get(),
                SftConfig.load(null, settings(data, dir.resolve("killed"), true))).run();
        assertEquals(2, resumed.roundsRun());
        assertArrayEquals(straight.state().params(), resumed.state().params(), 0f);
        assertArrayEquals(straight.modelParams(), resumed.modelParams(), 0f);
    }
}
