package io.whetstone.jobs.rl;

import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.jobs.rollout.RewardFactory;
import io.whetstone.jobs.rollout.PromptRecord;
import io.whetstone.jobs.rollout.PromptReader;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.datasets.records.Format;
import io.whetstone.datasets.rewards.RewardScorer;
import io.whetstone.datasets.spark.CorpusPreparer;
import io.whetstone.datasets.spark.CorpusSpec;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.RlConfig;
import io.whetstone.jobs.engine.ModelPool;
import io.whetstone.jobs.io.CheckpointStore;
import io.whetstone.jobs.io.HadoopFiles;
import io.whetstone.jobs.io.RunDirectory;
import io.whetstone.jobs.io.ModelSources;
import io.whetstone.jobs.spark.SparkRuntime;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.Tensor;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.optim.AdamWConfig;
import io.whetstone.models.train.TrainingState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Online RL on Spark (GRPO or PPO, as configured). Per iteration: pick prompts, sample and score their
 * groups on the executors, compute advantages on the driver, write the rollouts, update over the
 * partitions, log metrics, check the guard bands, checkpoint. Resumes from the newest checkpoint.
 */
public final class RlJob {

    private static final Logger LOG = LoggerFactory.getLogger(RlJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SparkSession spark;
    private final RlConfig config;

    public RlJob(SparkSession spark, RlConfig config) {
        this.spark = spark;
        this.config = config;
    }


    public RlResult run() {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        HadoopFiles files = new HadoopFiles(context.hadoopConfiguration());
        RunDirectory directory = RunDirectory.open(files, config.run().dir(), config);
        LOG.info("{} run directory: {}", config.algorithm().name().toUpperCase(), directory.path());
        Optional<CheckpointStore.Loaded> resumed = directory.resume(config.checkpoint().resume(), null);
        Inputs inputs = loadInputs(context, files, directory.path());
        Position position = startPosition(inputs, directory.checkpoints(), resumed);
        Broadcast<io.whetstone.models.engine.FrozenParams> referenceWeights = context.broadcast(io.whetstone.models.engine.FrozenParams.of(
                inputs.reference().params(), io.whetstone.models.engine.ParameterLayout.of(inputs.reference().config()),
                config.model().frozenStorage()));
        try {
            return new RlIterations(this, config, spark, context, directory, inputs, position, referenceWeights)
                    .run(resumed.isPresent(), resumed.map(CheckpointStore.Loaded::path).orElse(null));
        } finally {
            inputs.release();
            referenceWeights.destroy();
            ModelPool.clear();
        }
    }

    /**
     * Everything a run reads, validated before any sampling: the policy and the frozen reference, the
     * rewards, the prompts (partitioned; the held-out prompts when evaluation is on) and the replayed SFT rows.
     */
    record Inputs(CheckpointStore.ModelAndTokenizer initial, CheckpointStore.ModelAndTokenizer reference,
                          EngineOptions engine, List<RewardScorer.Component> rewards, List<String> componentNames,
                          JavaRDD<PromptRecord> prompts, long promptCount, JavaRDD<PromptRecord> evalPrompts,
                          JavaRDD<Tuple2<PackedSequence, Long>> replay, long replayCount) {

        ModelConfig model() {
            return initial.config();
        }

        Tokenizer tokenizer() {
            return initial.tokenizer();
        }

        void release() {
            prompts.unpersist(false);
            if (evalPrompts != null) {
                evalPrompts.unpersist(false);
            }
            if (replay != null) {
                replay.unpersist(false);
            }
        }
    }

    private Inputs loadInputs(JavaSparkContext context, HadoopFiles files, String runDir) {
        CheckpointStore.ModelAndTokenizer initial = ModelSources.load(files, config.model().init());
        ModelConfig modelConfig = initial.config();
        Tokenizer tokenizer = initial.tokenizer();
        CheckpointStore.ModelAndTokenizer reference = config.model().reference().isBlank() ? initial
                : ModelSources.load(files, config.model().reference());
        if (!reference.config().equals(modelConfig)) {
            throw new IllegalArgumentException("model.reference " + config.model().reference() + " has a different "
                    + "shape from model.init: " + reference.config() + " vs " + modelConfig);
        }
        int maxPrompt = modelConfig.maxSeqLen() - config.rollout().maxNewTokens();
        if (maxPrompt < 2) {
            throw new IllegalArgumentException("rollout.max_new_tokens " + config.rollout().maxNewTokens()
                    + " leaves no room for a prompt within the model's max_seq_len " + modelConfig.maxSeqLen());
        }
        int partitions = config.spark().partitions();
        int threads = SparkRuntime.threadsPerTask(spark, config.spark().threadsPerTask());
        // frozen models (the reference, reward models) keep their matrices as model.frozen_dtype says; the policy fp32
        EngineOptions engine = new EngineOptions(DataType.FLOAT, KernelChoice.parse(config.model().kernels()), threads)
                .withFrozenStorage(config.model().frozenStorage());

        List<RewardScorer.Component> rewards = RewardFactory.build(config.rewards().components(),
                config.rollout().maxNewTokens(), context, files, engine);
        List<String> componentNames = rewards.stream().map(RewardScorer.Component::name).toList();
        PromptReader.Partitioned read = PromptReader.readPartitioned(spark, config.data().path(),
                config.data().container(), config.data().columns(), config.data().validation().equals("strict"), tokenizer, maxPrompt, partitions);
        JavaRDD<PromptRecord> evalPrompts = null;
        if (config.eval().enabled()) {
            int maxEval = config.eval().maxPrompts();
            JavaRDD<PromptRecord> all = PromptReader.read(spark, config.eval().path(), "auto", true, tokenizer, maxPrompt);
            evalPrompts = all.filter(p -> p.index() < maxEval).mapToPair(p -> new Tuple2<>(p.index(), p))
                    .partitionBy(new HashPartitioner(partitions)).values().persist(StorageLevel.MEMORY_AND_DISK());
            evalPrompts.count();
            all.unpersist(false);
        }
        JavaRDD<Tuple2<PackedSequence, Long>> replay = null;
        long replayCount = 0;
        if (config.replay().enabled()) {
            String cache = new Path(new Path(runDir).getParent(), "_cache").toString();
            CorpusSpec spec = new CorpusSpec(config.replay().path(), Format.parse(config.replay().format()), "auto",
                    CorpusSpec.Validation.STRICT, config.replay().seqLen(), false, CorpusSpec.Truncation.TRUNCATE, cache);
            CorpusPreparer.Prepared prepared = new CorpusPreparer(spark).prepare(spec, tokenizer, partitions,
                    new Path(runDir, "rejects-replay").toString());
            replay = prepared.rows().zipWithIndex().map(pair -> new Tuple2<>(pair._1(), pair._2()))
                    .persist(StorageLevel.MEMORY_AND_DISK());
            replayCount = replay.count();
            LOG.info("Replay: {} SFT rows from {}, {} per rollout row", replayCount, config.replay().path(),
                    config.replay().fraction());
        }
        return new Inputs(initial, reference, engine, rewards, componentNames, read.prompts(), read.count(),
                evalPrompts, replay, replayCount);
    }

    /**
     * Where training stands: the trained vector (the policy, then PPO's value head) with its optimiser state,
     * the KL coefficient, the rollback guard's learning-rate scale and count, and the last good state.
     */
    static final class Position {
        TrainingState state;
        /**
         * The newest state whose own rollouts passed the guards (null until one has): what a rollback restores.
         * Not the newest checkpointed state, which was updated after its rollouts were checked.
         */
        TrainingState lastGood;
        int iteration;
        double klCoef;
        double lrScale = 1.0;
        int rollbacks;
    }

    /** The newest checkpoint's position, or the initial model's with zeroed optimiser state. */
    private Position startPosition(Inputs inputs, CheckpointStore checkpoints,
                                   Optional<CheckpointStore.Loaded> resumed) {
        Position position = new Position();
        int headLength = headLength(inputs.model());
        position.klCoef = config.algorithm().klCoef();
        if (resumed.isPresent()) {
            CheckpointStore.Loaded loaded = resumed.get();
            Map<String, Tensor> extras = checkpoints.extraTensors(loaded.path());
            position.state = withHead(loaded.state(), extras, headLength, config.train().optimizer());
            position.lastGood = lastGoodOf(extras, loaded.trainerState().path("extra"),
                    position.state.optimizerState().length);
            position.iteration = loaded.round();
            JsonNode extra = loaded.trainerState().path("extra");
            position.klCoef = extra.path("kl_coef").asDouble(position.klCoef);
            position.lrScale = extra.path("lr_scale").asDouble(1.0);
            position.rollbacks = extra.path("rollbacks").asInt(0);
            LOG.info("Resuming from {} (iteration {}, step {})", loaded.path(), position.iteration,
                    position.state.step());
        } else {
            float[] params = Arrays.copyOf(inputs.initial().params(), inputs.initial().params().length + headLength);
            int vectors = OptimizerKind.parse(config.train().optimizer()).stateNames().size();
            position.state = new TrainingState(params, new float[vectors][params.length], 0);
        }
        return position;
    }

    int headLength(ModelConfig model) {
        return config.algorithm().ppo() ? model.width() + 1 : 0;
    }

    RlWorkerSetup setup(ModelConfig modelConfig, EngineOptions engine, Tokenizer tokenizer,
                                List<RewardScorer.Component> rewards, double klCoef, AdamWConfig adamw, long poolId) {
        return new RlWorkerSetup(modelConfig, engine, config.algorithm(), config.rollout(), tokenizer, rewards,
                config.rewards().timeoutMs(), klCoef, config.train().optimizer(), adamw, poolId);
    }

    /** The policy's part of the trained vector (PPO appends its value head after the model's tensors). */
    static float[] policyPart(float[] flat, ModelConfig config) {
        int length = (int) io.whetstone.models.engine.ParameterLayout.of(config).length();
        return flat.length == length ? flat : Arrays.copyOfRange(flat, 0, length);
    }

    static void accumulate(Map<String, Double> sums, String key, double value) {
        sums.merge(key, value, Double::sum);
    }

    /** The prompt indices of {@code iteration}: consecutive slices of a per-epoch seeded permutation. */
    static Set<Long> choose(long count, int perIteration, long iteration, long seed) {
        Set<Long> chosen = new HashSet<>();
        long first = (iteration - 1) * perIteration;
        int[] permutation = null;
        long permutationEpoch = -1;
        for (long r = first; r < first + perIteration; r++) {
            long epoch = r / count;
            if (epoch != permutationEpoch) {
                permutation = permutation(count, seed * 31 + epoch);
                permutationEpoch = epoch;
            }
            chosen.add((long) permutation[(int) (r % count)]);
        }
        return chosen;
    }

    /**
     * The prompts of refill batch {@code batch} (>= 1) of {@code iteration}: the first {@code perIteration} of a
     * permutation seeded by (seed, iteration, batch) that are not {@code taken} this iteration (fewer when too few
     * are left). Like {@link #choose}, a function of its arguments only, so a resumed run refills alike.
     */
    static Set<Long> chooseMore(long count, int perIteration, long iteration, int batch, long seed, Set<Long> taken) {
        int[] permutation = permutation(count, io.whetstone.jobs.engine.Seeds.mix(seed, iteration, batch));
        Set<Long> chosen = new HashSet<>();
        for (int i = 0; i < permutation.length && chosen.size() < perIteration; i++) {
            if (!taken.contains((long) permutation[i])) {
                chosen.add((long) permutation[i]);
            }
        }
        return chosen;
    }

    private static int[] permutation(long count, long seed) {
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("more than 2^31 prompts");
        }
        int[] p = new int[(int) count];
        for (int i = 0; i < p.length; i++) {
            p[i] = i;
        }
        Random random = new Random(seed);
        for (int i = p.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = p[i];
            p[i] = p[j];
            p[j] = swap;
        }
        return p;
    }

    List<PackedSequence> sampleReplay(JavaRDD<Tuple2<PackedSequence, Long>> replay, long count, int wanted,
                                              int iteration) {
        if (wanted <= 0 || count == 0) {
            return List.of();
        }
        Set<Long> chosen = choose(count, (int) Math.min(wanted, count), iteration, config.rollout().seed() + 17);
        List<Tuple2<PackedSequence, Long>> rows = replay.filter(pair -> chosen.contains(pair._2())).collect();
        List<Tuple2<PackedSequence, Long>> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingLong(Tuple2::_2));
        List<PackedSequence> out = new ArrayList<>();
        sorted.forEach(pair -> out.add(pair._1()));
        return out;
    }

    /** Greedy completions of the held-out prompts, scored: mean of each component and of the total. */
    Map<String, Double> evaluate(JavaSparkContext context, JavaRDD<PromptRecord> evalPrompts,
                                         RlWorkerSetup setup, float[] params, List<String> names,
                                         Broadcast<io.whetstone.models.engine.FrozenParams> referenceWeights) {
        Broadcast<float[]> policy = context.broadcast(params);
        try {
            context.setJobDescription("whetstone " + config.algorithm().name() + ": held-out evaluation");
            List<RolloutPartition> parts = evalPrompts.mapPartitions(rows -> RolloutWorker.run(setup, policy.value(),
                    referenceWeights::value, rows, 0, 0, 1, true)).collect();
            double[] sums = new double[names.size() + 1];
            int n = 0;
            for (RolloutPartition part : parts) {
                for (Rollout r : part.rollouts()) {
                    if (r.failed()) {
                        continue;
                    }
                    for (int c = 0; c < names.size(); c++) {
                        sums[c] += r.rewards()[c];
                    }
                    sums[names.size()] += r.reward();
                    n++;
                }
            }
            Map<String, Double> out = new LinkedHashMap<>();
            for (int c = 0; c < names.size(); c++) {
                out.put(names.get(c), n == 0 ? Double.NaN : sums[c] / n);
            }
            out.put("reward", n == 0 ? Double.NaN : sums[names.size()] / n);
            out.put("prompts", (double) n);
            return out;
        } finally {
            policy.destroy();
        }
    }

    static Map<String, Object> evalLine(int iteration, String event, Map<String, Double> eval) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", event);
        line.put("iteration", iteration);
        line.put("eval", eval);
        return line;
    }

    /** The checkpoint's policy state with the value head (and its moments) appended from its extras. */
    private static TrainingState withHead(TrainingState policy, Map<String, Tensor> extras, int headLength,
                                          String optimizer) {
        if (headLength == 0) {
            return policy;
        }
        Tensor head = extras.get("value_head");
        if (head == null || head.values().length != headLength) {
            throw new IllegalArgumentException("the checkpoint has no value head of " + headLength
                    + " values: was it written by a GRPO run?");
        }
        float[] params = concat(policy.params(), head.values());
        float[][] moments = new float[policy.optimizerState().length][];
        for (int k = 0; k < moments.length; k++) {
            Tensor moment = extras.get("value_head." + (k == 0 ? "adamw.m" : "adamw.v"));
            moments[k] = concat(policy.optimizerState()[k], moment.values());
        }
        return new TrainingState(params, moments, policy.step());
    }

    String writeCheckpoint(CheckpointStore checkpoints, int iteration, TrainingState state, TrainingState lastGood,
                                   ModelConfig modelConfig, Tokenizer tokenizer, JsonNode resolved, int headLength,
                                   double klCoef, double lrScale, int rollbacks) {
        int policyLength = (int) ParameterLayout.of(modelConfig).length();
        float[][] moments = new float[state.optimizerState().length][];
        Map<String, Tensor> extraTensors = new LinkedHashMap<>();
        for (int k = 0; k < moments.length; k++) {
            moments[k] = Arrays.copyOf(state.optimizerState()[k], policyLength);
            if (headLength > 0) {
                extraTensors.put("value_head." + (k == 0 ? "adamw.m" : "adamw.v"), new Tensor(new long[] {headLength},
                        Arrays.copyOfRange(state.optimizerState()[k], policyLength, policyLength + headLength)));
            }
        }
        if (headLength > 0) {
            extraTensors.put("value_head", new Tensor(new long[] {headLength},
                    Arrays.copyOfRange(state.params(), policyLength, policyLength + headLength)));
        }
        ObjectNode info = JSON.createObjectNode();
        if (lastGood != null && lastGood != state && config.guards().action().equals("rollback")) {
            // The rollback target is not the checkpointed state (whose rollouts are still to come): keep it, so a
            // resumed run rolls back where an uninterrupted one would.
            extraTensors.putAll(lastGoodTensors(lastGood));
            info.put("last_good_step", lastGood.step());
        }
        info.put("algorithm", config.algorithm().name());
        info.put("kl_coef", klCoef);
        info.put("lr_scale", lrScale);
        info.put("rollbacks", rollbacks);
        TrainingState policy = new TrainingState(Arrays.copyOf(state.params(), policyLength), moments, state.step());
        List<String> names = OptimizerKind.parse(config.train().optimizer()).stateNames();
        return checkpoints.write(iteration, policy, modelConfig, tokenizer, config.train().optimizer(), names, resolved,
                config.rollout().seed(), null, iteration == config.train().iterations(),
                new CheckpointStore.Extras(extraTensors, info));
    }

    private static final String LAST_GOOD = "last_good.";

    /** The last good state as checkpoint tensors: the whole trained vector, then each optimiser vector. */
    private static Map<String, Tensor> lastGoodTensors(TrainingState good) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put(LAST_GOOD + "params", new Tensor(new long[] {good.params().length}, good.params()));
        for (int k = 0; k < good.optimizerState().length; k++) {
            tensors.put(LAST_GOOD + "state." + k, new Tensor(new long[] {good.params().length},
                    good.optimizerState()[k]));
        }
        return tensors;
    }

    /** The last good state a checkpoint kept, if it kept one (see {@link #writeCheckpoint}). */
    private static TrainingState lastGoodOf(Map<String, Tensor> extras, JsonNode info, int vectors) {
        Tensor params = extras.get(LAST_GOOD + "params");
        if (params == null) {
            return null;
        }
        float[][] moments = new float[vectors][];
        for (int k = 0; k < vectors; k++) {
            moments[k] = extras.get(LAST_GOOD + "state." + k).values();
        }
        return new TrainingState(params.values(), moments, info.path("last_good_step").asLong());
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
