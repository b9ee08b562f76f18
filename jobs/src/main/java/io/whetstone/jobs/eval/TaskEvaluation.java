package io.whetstone.jobs.eval;

import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.tasks.TaskExample;
import io.whetstone.datasets.tasks.Verifier;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.generate.Completion;
import io.whetstone.models.generate.GreedyDecoder;
import io.whetstone.models.generate.KvCacheDecoder;
import io.whetstone.models.generate.SamplingConfig;
import io.whetstone.models.train.TrainingState;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * Held-out exact-match accuracy of a model on task examples: prompts are spread over the executors,
 * the parameters broadcast once, each partition decodes greedily (to EOS or a token limit; with the
 * KV-cache sampler on CPU, the uncached reference decoder elsewhere) and the
 * task's verifier scores the completion.
 */
public final class TaskEvaluation {

    private TaskEvaluation() {
    }

    /** One scored completion. */
    public record Sample(String id, String question, String completion, boolean correct) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** Accuracy and every scored completion, in input order. */
    public record Result(double accuracy, int correct, int total, List<Sample> samples) {
    }

    /** A problem and the prompt text the model sees (the chat template's question prompt, or a record's own). */
    public record Problem(TaskExample example, String prompt) implements Serializable {
        private static final long serialVersionUID = 1L;

        /** {@code example} asked through the chat template's question prompt, as SFT trains on it. */
        public static Problem templated(TaskExample example) {
            return new Problem(example, new ChatTemplateSpec().questionPrompt(example.question()));
        }
    }

    public static Result evaluate(SparkSession spark, ModelConfig config, float[] params, Tokenizer tokenizer,
                                  List<TaskExample> examples, Verifier verifier, int maxNewTokens, int partitions,
                                  EngineOptions engine, int batchSize) {
        return evaluateProblems(spark, config, params, tokenizer, examples.stream().map(Problem::templated).toList(),
                verifier, maxNewTokens, partitions, engine, batchSize);
    }

    /** {@link #evaluate} of problems with their own prompts. */
    public static Result evaluateProblems(SparkSession spark, ModelConfig config, float[] params, Tokenizer tokenizer,
                                          List<Problem> examples, Verifier verifier, int maxNewTokens, int partitions,
                                          EngineOptions engine, int batchSize) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<float[]> weights = context.broadcast(params);
        try {
            context.setJobDescription("whetstone: evaluate " + examples.size() + " held-out examples");
            List<Sample> samples = context.parallelize(examples, Math.max(1, Math.min(partitions, examples.size())))
                    .mapPartitions(iterator -> {
                        List<Problem> part = new ArrayList<>();
                        iterator.forEachRemaining(part::add);
                        return decodeProblems(config, weights.value(), tokenizer, part, verifier, maxNewTokens, engine,
                                batchSize).iterator();
                    }).collect();
            int correct = (int) samples.stream().filter(Sample::correct).count();
            return new Result(samples.isEmpty() ? 0 : (double) correct / samples.size(), correct, samples.size(),
                    samples);
        } finally {
            weights.destroy();
        }
    }

    /** Decodes and scores {@code examples} in this JVM. */
    public static List<Sample> decode(ModelConfig config, float[] params, Tokenizer tokenizer,
                                      List<TaskExample> examples, Verifier verifier, int maxNewTokens,
                                      EngineOptions engine, int batchSize) {
        return decodeProblems(config, params, tokenizer, examples.stream().map(Problem::templated).toList(), verifier,
                maxNewTokens, engine, batchSize);
    }

    /** Decodes and scores {@code problems} in this JVM. */
    static List<Sample> decodeProblems(ModelConfig config, float[] params, Tokenizer tokenizer,
                                       List<Problem> examples, Verifier verifier, int maxNewTokens,
                                       EngineOptions engine, int batchSize) {
        List<Sample> samples = new ArrayList<>();
        try (Transformer model = new Transformer(config, engine)) {
            TrainingState.copyInto(params, model.parameters().params());
            boolean cached = model.parameters().dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT
                    && io.whetstone.models.kernels.KernelChoice.cpuBackend();
            KvCacheDecoder fast = cached ? new KvCacheDecoder(model) : null;
            GreedyDecoder plain = cached ? null : new GreedyDecoder(model);
            for (int start = 0; start < examples.size(); start += batchSize) {
                List<Problem> chunk = examples.subList(start, Math.min(examples.size(), start + batchSize));
                List<int[]> prompts = new ArrayList<>();
                for (Problem problem : chunk) {
                    int[] text = tokenizer.encode(problem.prompt());
                    int[] prompt = new int[text.length + 1];
                    prompt[0] = tokenizer.bosId();
                    System.arraycopy(text, 0, prompt, 1, text.length);
                    prompts.add(prompt);
                }
                List<int[]> outputs = new ArrayList<>();
                if (fast != null) {
                    for (Completion completion : fast.generate(prompts,
                            SamplingConfig.greedy(maxNewTokens, tokenizer.eosId()))) {
                        outputs.add(completion.tokens());
                    }
                } else {
                    outputs = plain.generate(prompts, maxNewTokens, new int[] {tokenizer.eosId()});
                }
                for (int i = 0; i < chunk.size(); i++) {
                    String completion = tokenizer.decode(outputs.get(i));
                    TaskExample example = chunk.get(i).example();
                    samples.add(new Sample(example.id(), example.question(), completion,
                            verifier.correct(example, completion)));
                }
            }
        }
        return samples;
    }
}
