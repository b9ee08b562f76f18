package io.whetstone.jobs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** The generate job's configuration; see {@code conf/generate.yaml}. */
public record GenerateConfig(GenerateConfig.Model model, GenerateConfig.Data data, GenerateConfig.Output output,
                             GenerateConfig.Sampling sampling, GenerateConfig.Spark spark) {

    public static final String DEFAULTS = "/io/whetstone/jobs/config/generate-defaults.yaml";

    /** The model: a .gguf file or a model directory; kernels auto, fused_cpu or nd4j. */
    public record Model(String path, String kernels) {
        public Model {
            Checks.require(path != null && !path.isBlank(), "model.path must name a .gguf file or a model directory");
            kernels = Checks.oneOf("model.kernels", kernels, Set.of("auto", "fused_cpu", "nd4j"));
        }
    }

    /**
     * The prompts: JSONL or Parquet records with {@code prompt} (used as is), {@code question} (GSM8K and
     * the built-in tasks; templated as in training) or {@code messages} (the conversation so far, then the
     * assistant marker). Other fields are kept out of the output.
     */
    public record Data(String path, String container, String validation) {
        public Data {
            Checks.require(path != null && !path.isBlank(), "data.path must be set");
            container = Checks.oneOf("data.container", container, Set.of("auto", "jsonl", "parquet"));
            validation = Checks.oneOf("data.validation", validation, Set.of("strict", "lenient"));
        }
    }

    /** Where completions go: a directory, written atomically, as JSON lines or Parquet. */
    public record Output(String path, String format) {
        public Output {
            Checks.require(path != null && !path.isBlank(), "output.path must be set");
            format = Checks.oneOf("output.format", format, Set.of("jsonl", "parquet"));
        }
    }

    /** Sampling settings; temperature 0 is greedy. {@code stop}: strings that end a completion. */
    public record Sampling(int maxNewTokens, double temperature, int topK, double topP, long seed,
                           int samplesPerPrompt, List<String> stop) implements java.io.Serializable {
        public Sampling {
            Checks.require(maxNewTokens >= 1, "sampling.max_new_tokens must be >= 1, got " + maxNewTokens);
            Checks.require(temperature >= 0, "sampling.temperature must be >= 0, got " + temperature);
            Checks.require(topK >= 0, "sampling.top_k must be >= 0, got " + topK);
            Checks.require(topP > 0 && topP <= 1, "sampling.top_p must be in (0, 1], got " + topP);
            Checks.require(samplesPerPrompt >= 1, "sampling.samples_per_prompt must be >= 1, got " + samplesPerPrompt);
            stop = stop == null ? List.of() : List.copyOf(stop);
        }
    }

    /** Partitions (parallel decoders), threads per task (0: spark.task.cpus) and prompts per decoding batch. */
    public record Spark(int partitions, int threadsPerTask, int batchSize) {
        public Spark {
            Checks.require(partitions >= 1, "spark.partitions must be >= 1, got " + partitions);
            Checks.require(threadsPerTask >= 0, "spark.threads_per_task must be >= 0, got " + threadsPerTask);
            Checks.require(batchSize >= 1, "spark.batch_size must be >= 1, got " + batchSize);
        }
    }

    public GenerateConfig {
        Checks.require(model != null && data != null && output != null && sampling != null && spark != null,
                "every section of the generate config must be set");
    }

    public static GenerateConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(GenerateConfig.class, DEFAULTS, file, overrides);
    }
}
