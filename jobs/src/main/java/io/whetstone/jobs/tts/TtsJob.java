package io.whetstone.jobs.tts;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.tasks.AnswerFormat;
import io.whetstone.jobs.config.TtsConfig;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.eval.Interval;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.io.TableOutput;
import io.whetstone.jobs.config.ConfigLoader;
import io.whetstone.jobs.engine.CachedAnnotation;
import io.whetstone.jobs.engine.RoundLoop;
import io.whetstone.jobs.prm.ProcessRewardModel;
import io.whetstone.jobs.rollout.PromptReader;
import io.whetstone.jobs.rollout.PromptRecord;
import io.whetstone.jobs.rollout.RewardFactory;
import io.whetstone.jobs.rollout.Sample;
import io.whetstone.jobs.rollout.SamplerSetup;
import io.whetstone.jobs.rollout.SamplingSpec;
import io.whetstone.jobs.rollout.SamplingTask;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.kernels.KernelChoice;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Test-time scaling on Spark: the questions are spread over the executors; each executor samples every one of
 * its questions {@code samples_per_prompt} times (and greedily, when greedy is a strategy) from the policy,
 * which it builds once from a broadcast; scores the samples (the verifier against the reference, the outcome
 * reward model when one is set); and runs every strategy at every budget on them. The driver writes the table
 * (one row per question, strategy and budget), {@code summary.json} (accuracy with its 95% interval and the
 * tokens spent per question, for every strategy and budget) and an accuracy-versus-tokens plot. Samples are
 * seeded by (seed, question, sample): a retried task or a rerun samples the same completions. Questions run in
 * chunks whose outcomes are kept as they finish, so a killed run resumes at its first unfinished chunk.
 */
public final class TtsJob {

    private static final Logger LOG = LoggerFactory.getLogger(TtsJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SparkSession spark;
    private final TtsConfig config;

    public TtsJob(SparkSession spark, TtsConfig config) {
        this.spark = spark;
        this.config = config;
    }

    /**
     * What a run measured.
     *
     * @param runDir the run directory
     * @param questions questions answered
     * @param summary one entry per strategy and budget (in the order run)
     * @param table the table's files
     * @param plot the plot's path
     * @param seconds sampling and scoring time
     */
    public record Result(String runDir, long questions, List<Summary> summary, List<String> table, String plot,
                         double seconds) {

        /** The summary entry of {@code strategy} at {@code budget}, if the run has it. */
        public Optional<Summary> of(String strategy, int budget) {
            return summary.stream().filter(s -> s.strategy().equals(strategy) && s.budget() == budget).findFirst();
        }
    }

    /**
     * One strategy at one budget over the run's questions.
     *
     * @param strategy its name
     * @param budget samples or tokens per question (1 for greedy)
     * @param questions questions with a reference (what accuracy counts)
     * @param accuracy share answered correctly
     * @param ci95 its Wilson interval
     * @param tokensPerQuestion the mean generated tokens the strategy spent per question
     * @param samplesPerQuestion the mean candidates it looked at per question
     */
    public record Summary(String strategy, int budget, long questions, double accuracy, Interval ci95,
                          double tokensPerQuestion, double samplesPerQuestion) {

        /** This entry's fields, as summary.json and the demo's summary list them. */
        public void writeTo(com.fasterxml.jackson.databind.node.ObjectNode entry) {
            entry.put("name", strategy);
            entry.put("budget", budget);
            entry.put("budget_tokens_per_question", tokensPerQuestion);
            entry.put("samples_per_question", samplesPerQuestion);
            entry.put("accuracy", accuracy);
            entry.putArray("ci95").add(ci95.low()).add(ci95.high());
            entry.put("questions", questions);
        }
    }

    public Result run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        CheckpointStore.ModelAndTokenizer policy = ModelSources.load(files, config.policy().path());
        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.policy().kernels()), threads);
        int maxPrompt = policy.config().maxSeqLen() - config.sampling().maxNewTokens();
        if (maxPrompt < 1) {
            throw new IllegalArgumentException("sampling.max_new_tokens " + config.sampling().maxNewTokens()
                    + " leaves no room for a prompt within the model's max_seq_len " + policy.config().maxSeqLen());
        }
        // everything that can be wrong with the inputs is checked before any sampling
        List<RewardScorer.Component> scorers = scorers(context, files, engine);
        ProcessRewardModel prm = config.processReward().path().isEmpty() ? null
                : ProcessRewardModel.load(context, files, config.processReward().path(), engine);
        PromptReader.Partitioned read = PromptReader.readPartitioned(spark, config.data().path(),
                config.data().container(), config.data().columns(), config.data().validation().equals("strict"), policy.tokenizer(), maxPrompt,
                config.spark().partitions());
        LOG.info("tts: {} questions x {} samples from {}; strategies {} at {} budgets {}", read.count(),
                config.sampling().samplesPerPrompt(), config.policy().path(), config.strategies(),
                config.budget().unit(), config.budget().values());
        Broadcast<float[]> weights = context.broadcast(policy.params());
        Work work = work(policy, engine, scorers, weights.id());
        // finished chunks are kept under a key of the settings and the model: a rerun resumes, a change starts over
        // (the chunks live in run.dir, so it is left out: "dir" and "dir/" are one run)
        var settings = ConfigLoader.resolvedTree(config);
        settings.remove("run");
        String key = CachedAnnotation.key(settings.toString(), CheckpointStore.sha256(policy.params()),
                prm == null ? "" : prm.fingerprint(), rewardModelFingerprint(files));
        OutcomeChunks chunks = new OutcomeChunks(files, new Path(directory.path(), "chunks-" + key.substring(0, 16)));
        int chunkPrompts = config.sampling().chunkPrompts();
        int chunkCount = (int) ((read.count() + chunkPrompts - 1) / chunkPrompts);
        long start = System.nanoTime();
        List<Outcome> outcomes = new ArrayList<>();
        try {
            int sampled = 0;
            for (int chunk = 0; chunk < chunkCount; chunk++) {
                Optional<List<Outcome>> done = chunks.finished(chunk);
                if (done.isPresent()) {
                    outcomes.addAll(done.get());
                    LOG.info("tts: chunk {}/{} finished by an earlier run", chunk + 1, chunkCount);
                    continue;
                }
                long from = (long) chunk * chunkPrompts;
                long to = from + chunkPrompts;
                long chunkStart = System.nanoTime();
                context.setJobDescription("whetstone tts: chunk " + (chunk + 1) + "/" + chunkCount + " ("
                        + config.sampling().samplesPerPrompt() + " samples per question)");
                List<Outcome> chunkOutcomes = new ArrayList<>(read.prompts()
                        .filter(p -> p.index() >= from && p.index() < to).mapPartitions(part -> {
                            List<PromptRecord> list = new ArrayList<>();
                            part.forEachRemaining(list::add);
                            return work.outcomes(weights::value, prm, list).iterator();
                        }).collect());
                chunks.write(chunk, chunkOutcomes);
                outcomes.addAll(chunkOutcomes);
                sampled++;
                double elapsed = (System.nanoTime() - start) / 1e9;
                LOG.info(String.format("tts: chunk %d/%d  %.1fs  eta %s", chunk + 1, chunkCount,
                        (System.nanoTime() - chunkStart) / 1e9, RoundLoop.format(elapsed / sampled
                                * (chunkCount - chunk - 1))));
            }
        } finally {
            weights.destroy();
            if (prm != null) {
                prm.destroy();
            }
            read.prompts().unpersist(false);
            ModelPool.clear();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return publish(files, directory, outcomes, read.count(), seconds);
    }

    /**
     * A fingerprint of the outcome reward model's files (its safetensors' sizes and modification times; empty
     * without one), so chunks scored by an older model at the same path are not reused.
     */
    private String rewardModelFingerprint(HadoopFiles files) {
        if (config.rewardModel().isEmpty()) {
            return "";
        }
        try {
            Path dir = new Path(config.rewardModel());
            StringBuilder out = new StringBuilder();
            for (org.apache.hadoop.fs.FileStatus status : files.fs(dir).listStatus(dir)) {
                out.append(status.getPath().getName()).append(':').append(status.getLen()).append(':')
                        .append(status.getModificationTime()).append(';');
            }
            return out.toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot list the reward model " + config.rewardModel(), e);
        }
    }

    /** The scorers: the verifier first, then the outcome reward model when one is set (loaded and checked here). */
    private List<RewardScorer.Component> scorers(JavaSparkContext context, HadoopFiles files, EngineOptions engine) {
        List<Map<String, Object>> specs = new ArrayList<>();
        specs.add(Map.of("name", "correct", "type", config.answer().format()));
        if (!config.rewardModel().isEmpty()) {
            specs.add(Map.of("name", "reward_model", "type", "model", "path", config.rewardModel()));
        }
        return RewardFactory.build(specs, config.sampling().maxNewTokens(), context, files, engine);
    }

    /** What every partition runs: its samplers (the samples, greedy, beam search's steps) and the strategies. */
    private Work work(CheckpointStore.ModelAndTokenizer policy, EngineOptions engine,
                      List<RewardScorer.Component> scorers, long weightsId) {
        TtsConfig.Sampling sampling = config.sampling();
        SamplerSetup sampler = new SamplerSetup(policy.config(), engine, policy.tokenizer(), new SamplingSpec(
                sampling.samplesPerPrompt(), sampling.maxNewTokens(), sampling.temperature(), sampling.topK(),
                sampling.topP(), sampling.decodeBatch(), sampling.seed()), scorers, 0, weightsId);
        SamplerSetup greedy = !config.strategies().contains("greedy") ? null : new SamplerSetup(policy.config(),
                engine, policy.tokenizer(), new SamplingSpec(1, sampling.maxNewTokens(), 0, 0, 1.0,
                sampling.decodeBatch(), sampling.seed()), scorers, 0, weightsId);
        SamplerSetup steps = !config.strategies().contains("beam_search") ? null : new SamplerSetup(policy.config(),
                engine, policy.tokenizer(), new SamplingSpec(1, sampling.maxNewTokens(), sampling.temperature(),
                sampling.topK(), sampling.topP(), sampling.decodeBatch(), sampling.seed()), scorers, 0, weightsId);
        List<String> shared = config.strategies().stream().filter(s -> !s.equals("beam_search")).toList();
        return new Work(sampler, greedy, steps, new Evaluation(shared, config.budget().unit().equals("tokens"),
                config.budget().values(), config.adaptive()), config.beam(), config.processReward(),
                AnswerFormat.parse(config.answer().format()), !config.rewardModel().isEmpty());
    }

    /**
     * One partition's work: sample and score its questions, run the strategies on the samples, and (with beam
     * search) search step by step.
     */
    private record Work(SamplerSetup sampler, SamplerSetup greedy, SamplerSetup steps, Evaluation evaluation,
                        TtsConfig.Beam beam, TtsConfig.ProcessReward processReward, AnswerFormat format,
                        boolean withModel) implements java.io.Serializable {

        List<Outcome> outcomes(java.util.function.Supplier<float[]> weights, ProcessRewardModel prm,
                               List<PromptRecord> prompts) {
            List<Outcome> out = new ArrayList<>();
            if (!evaluation.strategies().isEmpty()) {
                for (Question question : questions(sampler, greedy, weights, prompts, format, withModel, prm,
                        processReward)) {
                    out.addAll(evaluation.of(question));
                }
            }
            if (steps != null && !prompts.isEmpty()) {
                List<PromptRecord> sorted = new ArrayList<>(prompts);
                sorted.sort(Comparator.comparingLong(PromptRecord::index));
                List<Choice> choices = ModelBeamSearch.run(beam, processReward, steps, weights, sorted, prm, format);
                for (int q = 0; q < sorted.size(); q++) {
                    PromptRecord prompt = sorted.get(q);
                    String reference = prompt.reference().isBlank() ? null
                            : format.reference(prompt.reference()).orElse(null);
                    Choice choice = choices.get(q);
                    out.add(new Outcome(prompt.index(), prompt.id(), "beam_search", beam.width() * beam.expansions(),
                            choice.candidates(), choice.tokens(), choice.answer(), choice.votes(), Double.NaN,
                            reference == null ? null : reference.equals(choice.answer())));
                }
            }
            return out;
        }
    }

    /** The summary (logged), the table, the plot and summary.json of {@code outcomes}. */
    private Result publish(HadoopFiles files, RunDirectory directory, List<Outcome> outcomes, long questions,
                           double seconds) {
        outcomes.sort(Comparator.comparingLong(Outcome::index));
        List<Summary> summary = summarize(outcomes);
        for (Summary s : summary) {
            LOG.info(String.format("tts: %-18s budget %5d  accuracy %5.1f%% [%4.1f, %4.1f]  %7.1f tokens/question",
                    s.strategy(), s.budget(), 100 * s.accuracy(), 100 * s.ci95().low(), 100 * s.ci95().high(),
                    s.tokensPerQuestion()));
        }
        List<String> table = writeTable(files, directory.path(), outcomes);
        String plot = new Path(directory.path(), "accuracy_vs_tokens.svg").toString();
        files.writeBytes(new Path(plot), AccuracyPlot.svg(summary, "accuracy vs tokens per question")
                .getBytes(StandardCharsets.UTF_8));
        writeSummary(files, directory, summary, questions, seconds);
        directory.metrics().append(Map.of("event", "end", "questions", questions, "seconds", seconds));
        return new Result(directory.path(), questions, summary, table, plot, seconds);
    }

    /** Samples and scores {@code prompts} (one partition's) and turns each into a question's candidates. */
    static List<Question> questions(SamplerSetup sampler, SamplerSetup greedy, java.util.function.Supplier<float[]> weights,
                                    List<PromptRecord> prompts, AnswerFormat format, boolean withModel,
                                    ProcessRewardModel prm, TtsConfig.ProcessReward processReward) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        List<Sample> samples = SamplingTask.run(sampler, weights, prompts.iterator(), 0).next().samples();
        List<Sample> greedySamples = greedy == null ? List.of()
                : SamplingTask.run(greedy, weights, prompts.iterator(), 0).next().samples();
        Map<Long, List<Candidate>> byPrompt = new LinkedHashMap<>();
        for (Sample sample : samples) {
            byPrompt.computeIfAbsent(sample.promptIndex(), k -> new ArrayList<>()).add(candidate(sample, format,
                    withModel, prm, processReward));
        }
        Map<Long, Candidate> greedyByPrompt = new LinkedHashMap<>();
        for (Sample sample : greedySamples) {
            greedyByPrompt.put(sample.promptIndex(), candidate(sample, format, withModel, prm, processReward));
        }
        List<Question> out = new ArrayList<>();
        for (PromptRecord prompt : prompts) {
            String reference = prompt.reference().isBlank() ? null : format.reference(prompt.reference()).orElse(null);
            out.add(new Question(prompt.index(), prompt.id(), reference, byPrompt.get(prompt.index()),
                    greedyByPrompt.get(prompt.index())));
        }
        return out;
    }

    private static Candidate candidate(Sample sample, AnswerFormat format, boolean withModel, ProcessRewardModel prm,
                                       TtsConfig.ProcessReward processReward) {
        double logProb = 0;
        for (float value : sample.decoderLogProbs()) {
            logProb += value;
        }
        boolean correct = sample.rewards().length > 0 && sample.rewards()[0] == 1.0;
        double reward = withModel ? sample.rewards()[1] : Double.NaN;
        double process = prm == null ? Double.NaN : ModelBeamSearch.score(prm, processReward, sample.prompt(),
                sample.completion());
        return new Candidate(format.extract(sample.completion()).orElse(null), sample.completionIds().length, logProb,
                correct, reward, process);
    }


    /** Accuracy, interval and spend of every (strategy, budget), in the order the outcomes list them. */
    static List<Summary> summarize(List<Outcome> outcomes) {
        Map<String, List<Outcome>> groups = new LinkedHashMap<>();
        for (Outcome outcome : outcomes) {
            groups.computeIfAbsent(outcome.strategy() + "\u0000" + outcome.budget(), k -> new ArrayList<>())
                    .add(outcome);
        }
        List<Summary> out = new ArrayList<>();
        for (List<Outcome> group : groups.values()) {
            long checked = 0;
            long right = 0;
            double tokens = 0;
            double candidates = 0;
            for (Outcome outcome : group) {
                tokens += outcome.tokens();
                candidates += outcome.candidates();
                if (outcome.correct() != null) {
                    checked++;
                    right += outcome.correct() ? 1 : 0;
                }
            }
            Outcome first = group.get(0);
            out.add(new Summary(first.strategy(), first.budget(), checked, checked == 0 ? Double.NaN
                    : (double) right / checked, checked == 0 ? new Interval(Double.NaN, Double.NaN)
                    : Interval.wilson(right, checked), tokens / group.size(), candidates / group.size()));
        }
        out.sort(Comparator.comparing(Summary::strategy, Comparator.comparingInt(TtsJob::order))
                .thenComparingInt(Summary::budget));
        return out;
    }

    private static int order(String strategy) {
        return List.of("greedy", "self_consistency", "adaptive", "weighted_vote", "best_of_n_rm", "best_of_n_prm",
                "beam_search", "best_of_n_verifier").indexOf(strategy);
    }

    private List<String> writeTable(HadoopFiles files, String runDir, List<Outcome> outcomes) {
        StructType schema = new StructType()
                .add("index", DataTypes.LongType, false)
                .add("id", DataTypes.StringType, false)
                .add("strategy", DataTypes.StringType, false)
                .add("budget", DataTypes.IntegerType, false)
                .add("candidates", DataTypes.IntegerType, false)
                .add("tokens", DataTypes.LongType, false)
                .add("answer", DataTypes.StringType, true)
                .add("votes", DataTypes.StringType, false)
                .add("score", DataTypes.DoubleType, false)
                .add("correct", DataTypes.BooleanType, true);
        List<Object[]> rows = new ArrayList<>(outcomes.size());
        for (Outcome o : outcomes) {
            String votes;
            try {
                votes = JSON.writeValueAsString(new java.util.TreeMap<>(o.votes()));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            rows.add(new Object[] {o.index(), o.id(), o.strategy(), o.budget(), o.candidates(), o.tokens(), o.answer(),
                    votes, o.score(), o.correct()});
        }
        return TableOutput.write(spark, files, new Path(runDir), "table", schema, rows, true, true);
    }

    private void writeSummary(HadoopFiles files, RunDirectory directory, List<Summary> summary, long questions,
                              double seconds) {
        var root = JSON.createObjectNode();
        root.put("questions", questions);
        root.put("samples_per_question", config.sampling().samplesPerPrompt());
        root.put("budget_unit", config.budget().unit());
        summary.stream().filter(s -> s.strategy().equals("greedy")).findFirst()
                .ifPresent(greedy -> root.put("greedy_accuracy", greedy.accuracy()));
        var list = root.putArray("strategies");
        for (Summary s : summary) {
            s.writeTo(list.addObject());
        }
        root.put("seconds", seconds);
        try {
            files.writeBytes(new Path(directory.path(), "summary.json"), JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(root));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
