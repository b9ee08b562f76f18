package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.HfFormat;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.lora.LoraLayout;
import io.whetstone.models.lora.LoraWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.Path;

/**
 * A LoRA adapter directory in PEFT's layout ({@code adapter_config.json}, {@code adapter_model.safetensors}; a
 * whetstone LoRA checkpoint is one) used where a model is: its base ({@code base_model_name_or_path}, any path
 * {@link ModelSources} reads; relative to the adapter directory when relative) is loaded and the adapters are
 * merged in, W + (alpha / r) A B.
 */
public final class AdapterDirectory {

    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private AdapterDirectory() {
    }

    /** Whether {@code path} holds adapters rather than a full model. */
    public static boolean isAdapterDirectory(HadoopFiles files, String path) {
        Path dir = new Path(path);
        return files.exists(new Path(dir, CONFIG)) && !files.exists(new Path(dir, "model.safetensors"))
                && !files.exists(new Path(dir, "model.safetensors.index.json"));
    }

    /** The base model with the directory's adapters merged in, and the adapter directory's tokenizer. */
    public static CheckpointStore.ModelAndTokenizer loadMerged(HadoopFiles files, String path) {
        Path dir = new Path(path);
        Path configFile = new Path(dir, CONFIG);
        try {
            JsonNode adapterConfig = JSON.readTree(files.readBytes(configFile));
            String base = basePath(adapterConfig, files.fs(dir).makeQualified(dir), configFile);
            LoraConfig lora = loraConfig(adapterConfig, configFile.toString());
            CheckpointStore.ModelAndTokenizer baseModel = ModelSources.load(files, base);
            ModelConfig config = baseModel.config();
            Path shapeFile = new Path(dir, "config.json");
            if (files.exists(shapeFile)) {
                ModelConfig declared = HfFormat.parseConfig(JSON.readTree(files.readBytes(shapeFile)), shapeFile.toString());
                if (!declared.equals(config)) {
                    throw new IllegalArgumentException(shapeFile + " describes " + declared + ", but the base " + base
                            + " is " + config + ": the adapters were not trained on this base");
                }
            }
            LoraLayout layout;
            try {
                layout = new LoraLayout(config, lora); // target_modules must exist in the base's architecture
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(configFile + ": " + e.getMessage(), e);
            }
            Path weights = new Path(dir, WEIGHTS);
            float[] adapters = LoraWeights.fromPeft(config, layout, ModelSources.read(files, weights), weights.toString());
            float[] merged = LoraWeights.merge(config, baseModel.params(), layout, adapters);
            boolean ownTokenizer = files.exists(new Path(dir, "tokenizer_config.json"))
                    || files.exists(new Path(dir, "tokenizer.json"));
            return new CheckpointStore.ModelAndTokenizer(config, merged,
                    ownTokenizer ? CheckpointStore.loadTokenizer(files, path) : baseModel.tokenizer());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load adapters " + path, e);
        }
    }

    private static String basePath(JsonNode adapterConfig, Path dir, Path configFile) {
        String base = adapterConfig.path("base_model_name_or_path").asText("");
        if (base.isEmpty()) {
            throw new IllegalArgumentException(configFile + ": base_model_name_or_path is missing; it names the base "
                    + "model the adapters apply to");
        }
        Path basePath = new Path(base);
        if (basePath.toUri().getScheme() != null) {
            return base;
        }
        // a plain path (what PEFT can read: whetstone writes local bases so) lives on the adapter directory's
        // file system, whatever the default file system is; a relative one beside the adapter directory
        return basePath.isAbsolute() ? new Path(dir.toUri().getScheme(), dir.toUri().getAuthority(), base).toString()
                : new Path(dir, base).toString();
    }

    /** The adapters' shape from PEFT's config: r, lora_alpha, lora_dropout, target_modules (a list). */
    static LoraConfig loraConfig(JsonNode adapterConfig, String file) {
        if (!"LORA".equals(adapterConfig.path("peft_type").asText("LORA"))) {
            throw new IllegalArgumentException(file + ": peft_type " + adapterConfig.get("peft_type")
                    + " is not supported (LORA)");
        }
        JsonNode targets = adapterConfig.path("target_modules");
        if (!targets.isArray()) {
            throw new IllegalArgumentException(file + ": target_modules must be a list of module names, got "
                    + targets);
        }
        for (String key : List.of("use_dora", "use_rslora")) {
            if (adapterConfig.path(key).asBoolean(false)) {
                throw new IllegalArgumentException(file + ": " + key + " = true is not supported");
            }
        }
        if (!"none".equals(adapterConfig.path("bias").asText("none"))) {
            throw new IllegalArgumentException(file + ": bias = " + adapterConfig.get("bias") + " is not supported (none)");
        }
        List<String> modules = new ArrayList<>();
        targets.forEach(node -> modules.add(node.asText()));
        int rank = adapterConfig.path("r").asInt(0);
        try {
            return new LoraConfig(rank, adapterConfig.path("lora_alpha").asDouble(rank),
                    adapterConfig.path("lora_dropout").asDouble(0), modules, 0);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }
}
