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

    public static Result evaluate(SparkSession spark, ModelConfig config, float[] params, Tokenizer tokenizer,
                                  List<TaskExample> examples, Verifier verifier, int maxNewTokens, int partitions,
                                  EngineOptions engine, int batchSize) {
        JavaSparkContext context = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<float[]> weights = context.broadcast(params);
        try {
            context.setJobDescription("whetstone: evaluate " + examples.size() + " held-out examples");
            List<Sample> samples = context.parallelize(examples, Math.max(1, Math.min(partitions, examples.size())))
                    .mapPartitions(iterator -> {
                        List<TaskExample> part = new ArrayList<>();
                        iterator.forEachRemaining(part::add);
                        return decode(config, weights.value(), tokenizer, part, verifier, maxNewTokens, engine,
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
        ChatTemplateSpec template = new ChatTemplateSpec();
        List<Sample> samples = new ArrayList<>();
        try (Transformer model = new Transformer(config, engine)) {
            TrainingState.copyInto(params, model.parameters().params());
            boolean cached = model.parameters().dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT
                    && io.whetstone.models.kernels.KernelChoice.cpuBackend();
            KvCacheDecoder fast = cached ? new KvCacheDecoder(model) : null;
            GreedyDecoder plain = cached ? null : new GreedyDecoder(model);
            for (int start = 0; start < examples.size(); start += batchSize) {
                List<TaskExample> chunk = examples.subList(start, Math.min(examples.size(), start + batchSize));
                List<int[]> prompts = new ArrayList<>();
                for (TaskExample example : chunk) {
                    int[] text = tokenizer.encode(template.questionPrompt(example.question()));
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
                    TaskExample example = chunk.get(i);
                    samples.add(new Sample(example.id(), example.question(), completion,
                            verifier.correct(example, completion)));
                }
            }
        }
        return samples;
    }
}
