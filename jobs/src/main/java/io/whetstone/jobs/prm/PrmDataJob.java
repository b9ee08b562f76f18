package io.whetstone.jobs.prm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.tasks.Steps;
import io.whetstone.jobs.config.ConfigLoader;
import io.whetstone.jobs.config.PrmDataConfig;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.rollout.PromptReader;
import io.whetstone.jobs.rollout.RewardFactory;
import io.whetstone.jobs.rollout.SamplerSetup;
import io.whetstone.jobs.rollout.SamplingSpec;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Step labels for process reward models without human annotation (Math-Shepherd): the executors sample
 * solutions of each question, roll out continuations from every step prefix and label the step by the share of
 * them the verifier accepts (soft) or by whether any does (hard). With {@code steps.true_labels} (the built-in
 * task, whose every step is exactly checkable) each step also gets its true label, and the statistics report
 * how well the Monte-Carlo labels agree with them. Writes {@code <output.path>/steps.jsonl} (one solution per
 * line) and {@code stats.json}, published together with {@code _SUCCESS}.
 */
public final class PrmDataJob {

    private static final Logger LOG = LoggerFactory.getLogger(PrmDataJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SparkSession spark;
    private final PrmDataConfig config;

    public PrmDataJob(SparkSession spark, PrmDataConfig config) {
        this.spark = spark;
        this.config = config;
    }

    /** What a run wrote: the data file, the labelled solutions and their statistics. */
    public record Result(String data, List<LabelledSolution> solutions, Map<String, Object> stats) {
    }

    public Result run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        Path output = new Path(files.qualify(config.output().path()));
        CheckpointStore.ModelAndTokenizer policy = ModelSources.load(files, config.policy().path());
        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.policy().kernels()), threads);
        PrmDataConfig.Sampling sampling = config.sampling();
        int maxPrompt = policy.config().maxSeqLen() - sampling.maxNewTokens();
        if (maxPrompt < 1) {
            throw new IllegalArgumentException("sampling.max_new_tokens " + sampling.maxNewTokens() + " leaves no room "
                    + "for a prompt within the model's max_seq_len " + policy.config().maxSeqLen());
        }
        List<RewardScorer.Component> verifier = RewardFactory.build(List.of(Map.of("name", "correct", "type",
                config.answer().format())), sampling.maxNewTokens(), context, files, engine);
        PromptReader.Partitioned read = PromptReader.readPartitioned(spark, config.data().path(),
                config.data().container(), config.data().columns(), config.data().validation().equals("strict"), policy.tokenizer(), maxPrompt,
                config.spark().partitions());
        Broadcast<float[]> weights = context.broadcast(policy.params());
        SamplerSetup solutions = new SamplerSetup(policy.config(), engine, policy.tokenizer(), new SamplingSpec(
                sampling.solutionsPerPrompt(), sampling.maxNewTokens(), sampling.temperature(), sampling.topK(),
                sampling.topP(), sampling.decodeBatch(), sampling.seed()), verifier, 0, weights.id());
        SamplerSetup rollouts = new SamplerSetup(policy.config(), engine, policy.tokenizer(), new SamplingSpec(
                sampling.rolloutsPerStep(), sampling.maxNewTokens(), sampling.temperature(), sampling.topK(),
                sampling.topP(), sampling.decodeBatch(), sampling.seed()), verifier, 0, weights.id());
        String delimiter = config.steps().delimiter();
        boolean trueLabels = config.steps().trueLabels();
        LOG.info("prm-data: {} questions x {} solutions, {} rollouts from every step prefix (steps end at {})",
                read.count(), sampling.solutionsPerPrompt(), sampling.rolloutsPerStep(), JSON.valueToTree(delimiter));
        long start = System.nanoTime();
        List<LabelledSolution> labelled = new ArrayList<>();
        // Chunks of questions, each kept as it finishes under a key of the settings and the policy's weights: a
        // killed run resumes at its first unfinished chunk; other settings or another policy start a new area.
        Path work = new Path(output.getParent(), "." + output.getName() + ".chunks-" + workKey(policy));
        try {
            long maxIndex = read.prompts().map(io.whetstone.jobs.rollout.PromptRecord::index).reduce(Math::max);
            int chunkSize = sampling.chunkPrompts();
            int chunks = io.whetstone.jobs.rollout.ChunkedSampling.chunks(maxIndex, chunkSize);
            double sampledSeconds = 0;
            int sampledChunks = 0;
            for (int chunk = 0; chunk < chunks; chunk++) {
                Path chunkDir = new Path(work, String.format("chunk-%05d", chunk));
                if (!files.exists(new Path(chunkDir, "_SUCCESS"))) {
                    long from = (long) chunk * chunkSize;
                    long to = from + chunkSize;
                    long chunkStart = System.nanoTime();
                    context.setJobDescription("whetstone prm-data: step rollouts, chunk " + (chunk + 1) + "/" + chunks
                            + " (questions " + from + "-" + (to - 1) + ")");
                    List<LabelledSolution> part = read.prompts().filter(p -> p.index() >= from && p.index() < to)
                            .mapPartitions(rows -> {
                                List<io.whetstone.jobs.rollout.PromptRecord> list = new ArrayList<>();
                                rows.forEachRemaining(list::add);
                                return StepRollouts.label(solutions, rollouts, weights::value, list, delimiter,
                                        trueLabels).iterator();
                            }).collect();
                    StringBuilder lines = new StringBuilder();
                    part.forEach(solution -> lines.append(LabelledSolutions.toJson(solution)).append('\n'));
                    files.writeBytes(new Path(chunkDir, "solutions.jsonl"),
                            lines.toString().getBytes(StandardCharsets.UTF_8));
                    files.writeBytes(new Path(chunkDir, "_SUCCESS"), new byte[0]);
                    double took = (System.nanoTime() - chunkStart) / 1e9;
                    sampledSeconds += took;
                    sampledChunks++;
                    double eta = sampledSeconds / sampledChunks * (chunks - chunk - 1);
                    LOG.info(String.format("prm-data chunk %d/%d  %d solutions  %.1fs  eta %s", chunk + 1, chunks,
                            part.size(), took, io.whetstone.jobs.engine.RoundLoop.format(eta)));
                    directory.metrics().append(Map.of("chunk", chunk + 1, "solutions", part.size(), "chunk_s", took,
                            "eta_s", eta));
                }
                String text = new String(files.readBytes(new Path(chunkDir, "solutions.jsonl")),
                        StandardCharsets.UTF_8);
                text.lines().filter(l -> !l.isBlank()).forEach(l -> labelled.add(LabelledSolutions.fromJson(l)));
            }
        } finally {
            weights.destroy();
            read.prompts().unpersist(false);
            ModelPool.clear();
        }
        labelled.sort(Comparator.comparingLong(LabelledSolution::index).thenComparingInt(LabelledSolution::sample));
        Map<String, Object> stats = stats(labelled);
        stats.put("seconds", (System.nanoTime() - start) / 1e9);
        String data = write(files, output, labelled, stats);
        directory.metrics().append(Map.of("event", "end", "solutions", labelled.size(), "output", data));
        LOG.info("prm-data: {}", stats);
        return new Result(data, labelled, stats);
    }

    /**
     * Counts, and with true labels how the Monte-Carlo labels agree with them: the hard label's accuracy, the
     * mean soft label of right and of wrong steps, and how often the first step labelled wrong is the first wrong.
     */
    static Map<String, Object> stats(List<LabelledSolution> solutions) {
        long steps = 0;
        long labelled = 0;
        long correct = 0;
        long withTruth = 0;
        long agree = 0;
        double softRight = 0;
        long right = 0;
        double softWrong = 0;
        long wrong = 0;
        long firstErrorChecked = 0;
        long firstErrorAgree = 0;
        for (LabelledSolution solution : solutions) {
            correct += solution.correct() ? 1 : 0;
            steps += solution.steps().size();
            boolean[] mcLabels = new boolean[solution.steps().size()];
            boolean complete = true;
            for (int k = 0; k < solution.steps().size(); k++) {
                if (Double.isNaN(solution.soft()[k])) {
                    complete = false;
                    continue;
                }
                labelled++;
                mcLabels[k] = solution.hard(k);
                if (solution.trueLabels() != null) {
                    withTruth++;
                    boolean truth = solution.trueLabels()[k];
                    agree += truth == mcLabels[k] ? 1 : 0;
                    if (truth) {
                        softRight += solution.soft()[k];
                        right++;
                    } else {
                        softWrong += solution.soft()[k];
                        wrong++;
                    }
                }
            }
            if (solution.trueLabels() != null && complete) {
                firstErrorChecked++;
                firstErrorAgree += Steps.firstError(mcLabels) == Steps.firstError(solution.trueLabels()) ? 1 : 0;
            }
        }
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("solutions", solutions.size());
        stats.put("correct_solutions", correct);
        stats.put("steps", steps);
        stats.put("labelled_steps", labelled);
        if (withTruth > 0) {
            stats.put("hard_label_accuracy", (double) agree / withTruth);
            stats.put("mean_soft_label_of_right_steps", right == 0 ? Double.NaN : softRight / right);
            stats.put("mean_soft_label_of_wrong_steps", wrong == 0 ? Double.NaN : softWrong / wrong);
            stats.put("right_steps", right);
            stats.put("wrong_steps", wrong);
            stats.put("first_error_agreement", firstErrorChecked == 0 ? Double.NaN
                    : (double) firstErrorAgree / firstErrorChecked);
        }
        return stats;
    }

    /** The chunks' key: the settings that change the labels, and the policy's weights. */
    private String workKey(CheckpointStore.ModelAndTokenizer policy) {
        String settings = ConfigLoader.toJson(config.sampling()) + ConfigLoader.toJson(config.steps())
                + ConfigLoader.toJson(config.answer()) + config.data().path()
                + CheckpointStore.sha256(policy.params()) + policy.tokenizer().id();
        return UUID.nameUUIDFromBytes(settings.getBytes(StandardCharsets.UTF_8)).toString().replace("-", "")
                .substring(0, 16);
    }

    private String write(HadoopFiles files, Path output, List<LabelledSolution> solutions, Map<String, Object> stats) {
        StringBuilder text = new StringBuilder();
        for (LabelledSolution solution : solutions) {
            ObjectNode line = JSON.createObjectNode();
            line.put("id", solution.id());
            line.put("sample", solution.sample());
            line.put("prompt", solution.prompt());
            ArrayNode steps = line.putArray("steps");
            solution.steps().forEach(steps::add);
            ArrayNode soft = line.putArray("soft_labels");
            ArrayNode hard = line.putArray("hard_labels");
            for (int k = 0; k < solution.steps().size(); k++) {
                if (Double.isNaN(solution.soft()[k])) {
                    soft.addNull();
                    hard.addNull();
                } else {
                    soft.add(solution.soft()[k]);
                    hard.add(solution.hard(k));
                }
            }
            if (solution.trueLabels() != null) {
                ArrayNode truth = line.putArray("true_labels");
                for (boolean label : solution.trueLabels()) {
                    truth.add(label);
                }
            }
            line.put("correct", solution.correct());
            text.append(line).append('\n');
        }
        Path temporary = new Path(output.getParent(), "." + output.getName() + "._tmp-" + UUID.randomUUID());
        files.writeBytes(new Path(temporary, "steps.jsonl"), text.toString().getBytes(StandardCharsets.UTF_8));
        try {
            files.writeBytes(new Path(temporary, "stats.json"), JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(stats));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        files.publishDirectory(temporary, output);
        return new Path(output, "steps.jsonl").toString();
    }
}
