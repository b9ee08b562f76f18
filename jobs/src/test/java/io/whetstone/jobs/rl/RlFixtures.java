package io.whetstone.jobs.rl;

import io.whetstone.jobs.rollout.PromptRecord;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.rewards.FormatReward;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.tasks.ArithmeticTask;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.ConfigLoader;
import io.whetstone.jobs.config.RlConfig;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.api.buffer.DataType;

/** A tiny random policy with the byte tokenizer, arithmetic prompts and settings for fast RL tests. */
final class RlFixtures {

    static final ModelConfig MODEL = ModelConfig.gpt2(new ByteTokenizer().vocabSize(), 32, 1, 2, 64);
    static final EngineOptions ENGINE = new EngineOptions(DataType.FLOAT, KernelChoice.AUTO, 1);

    private RlFixtures() {
    }

    static float[] randomPolicy(long seed) {
        ParameterStore store = new ParameterStore(ParameterLayout.of(MODEL), DataType.FLOAT);
        store.initialize(seed);
        return TrainingState.toFloats(store.params());
    }

    /** Writes the random policy as a model directory. */
    static Path policyDir(Path dir) throws IOException {
        Path model = dir.resolve("policy");
        Files.createDirectories(model);
        new CheckpointStore(new HadoopFiles(new Configuration()), dir.toUri().toString())
                .writeModel(new org.apache.hadoop.fs.Path(model.toUri()), randomPolicy(3), MODEL, new ByteTokenizer());
        return model;
    }

    /** Prompt records {@code {"prompt": "What is a + b? ", "reference": "#### c"}}. */
    static Path prompts(Path dir, int count, long seed) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (TaskExample example : new ArithmeticTask(1, 2, false, seed).generate(ArithmeticTask.Split.TRAIN, count)) {
            ObjectNode node = json.createObjectNode();
            node.put("prompt", example.question() + " ");
            node.put("reference", "#### " + example.answer());
            lines.add(node.toString());
        }
        Path file = dir.resolve("prompts-" + seed + ".jsonl");
        Files.write(file, lines);
        return file;
    }

    /** Overrides for a short run: rewards vary on a random policy (a digit appears or not). */
    static List<String> settings(Path policy, Path prompts, Path runDir, String algorithm) {
        return new ArrayList<>(List.of("run.dir=" + runDir.toUri(), "model.init=" + policy.toUri(),
                "data.path=" + prompts.toUri(), "algorithm.name=" + algorithm, "rollout.prompts_per_iteration=4",
                "rollout.group_size=4", "rollout.max_new_tokens=12", "rollout.decode_batch=8", "rollout.micro_batch=8",
                "rewards.components=[{name: digit, type: format, pattern: '[0-9]', weight: 1.0}, "
                        + "{name: correct, type: task, weight: 1.0}]",
                "train.iterations=2", "train.lr=0.001", "algorithm.kl_coef=0.05", "algorithm.minibatches=2",
                "spark.partitions=2", "spark.threads_per_task=1", "checkpoint.every_rounds=1",
                "checkpoint.keep_last=5"));
    }

    static RlConfig config(List<String> settings) {
        return RlConfig.load(null, settings);
    }

    /** A worker setup for engine tests (GRPO unless {@code ppo}). */
    static RlWorkerSetup setup(boolean ppo, String optimizer, String... extra) {
        List<String> overrides = new ArrayList<>(List.of("model.init=x", "data.path=x",
                "algorithm.name=" + (ppo ? "ppo" : "grpo"), "algorithm.kl_coef=0.05", "rollout.max_new_tokens=12",
                "rollout.decode_batch=8", "rollout.micro_batch=5", "algorithm.clip_high=0.28"));
        overrides.addAll(List.of(extra));
        RlConfig config = ConfigLoader.load(RlConfig.class, RlConfig.DEFAULTS, null, overrides);
        Tokenizer tokenizer = new ByteTokenizer();
        List<RewardScorer.Component> rewards = List.of(new RewardScorer.Component("digit", 1.0,
                new FormatReward("[0-9]")));
        return new RlWorkerSetup(MODEL, ENGINE, config.algorithm(), config.rollout(), tokenizer, rewards, 0,
                config.algorithm().klCoef(), optimizer, new AdamWConfig(0.9, 0.99, 1e-8, 0, 1.0), 99);
    }

    /** Prompt records for engine tests (without Spark). */
    static List<PromptRecord> promptRecords(int count) {
        Tokenizer tokenizer = new ByteTokenizer();
        List<PromptRecord> out = new ArrayList<>();
        List<TaskExample> examples = new ArithmeticTask(1, 2, false, 5).generate(ArithmeticTask.Split.TRAIN, count);
        for (int i = 0; i < count; i++) {
            String text = examples.get(i).question() + " ";
            int[] encoded = tokenizer.encode(text);
            int[] ids = new int[encoded.length + 1];
            ids[0] = tokenizer.bosId();
            System.arraycopy(encoded, 0, ids, 1, encoded.length);
            out.add(new PromptRecord(i, "p" + i, text, ids, "#### " + examples.get(i).answer()));
        }
        return out;
    }
}
