package io.whetstone.jobs.engine;

import io.whetstone.datasets.pack.PackedSequence;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.train.TrainingState;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Supplier;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The mean cross-entropy per trained token (and its perplexity) of held-out packed rows under a model state,
 * computed on the executors with the pooled worker models: forward passes only, dropout off, the same loss mask as
 * training. Sums are kept in double and merged in any order.
 */
public final class HeldOutLoss {

    private HeldOutLoss() {
    }

    /**
     * The held-out result.
     *
     * @param loss mean negative log-likelihood per trained token (nats)
     * @param tokens trained tokens it averages over
     */
    public record Result(double loss, double tokens) implements Serializable {
        private static final long serialVersionUID = 1L;

        public double perplexity() {
            return Math.exp(loss);
        }
    }

    /**
     * Evaluates {@code rows} under {@code params} (the trainable vector: the model, or its adapters with {@code base}
     * the frozen base broadcast by LoRA training, else null). {@code teacher} is the training's teacher broadcast
     * (null without one): the pooled worker bundle is the training's, teacher included; the loss is the data's.
     */
    public static Result evaluate(JavaSparkContext context, JavaRDD<PackedSequence> rows, WorkerSetup setup,
                                  float[] params, Broadcast<io.whetstone.models.engine.FrozenParams> base, Broadcast<io.whetstone.models.engine.FrozenParams> teacher,
                                  String description) {
        Broadcast<float[]> sent = context.broadcast(params);
        try {
            context.setJobDescription(description);
            double[] sums = rows.mapPartitions(part -> List.of(partition(setup, sent.value(),
                    () -> base == null ? null : base.value(), () -> teacher == null ? null : teacher.value(), part))
                    .iterator())
                    .reduce((a, b) -> new double[] {a[0] + b[0], a[1] + b[1]});
            if (sums[1] == 0) {
                throw new IllegalArgumentException("the held-out rows have no trained tokens");
            }
            return new Result(sums[0] / sums[1], sums[1]);
        } finally {
            sent.destroy();
        }
    }

    /** {negative log-likelihood sum, trained tokens} of one partition's rows, in batches of the training batch. */
    static double[] partition(WorkerSetup setup, float[] params, Supplier<io.whetstone.models.engine.FrozenParams> base, Supplier<io.whetstone.models.engine.FrozenParams> teacher,
                              Iterator<PackedSequence> rows) {
        List<PackedSequence> all = new ArrayList<>();
        rows.forEachRemaining(all::add);
        if (all.isEmpty()) {
            return new double[2];
        }
        Nd4jThreads.apply(setup.engine().threads());
        WorkerModels.Bundle bundle = WorkerModels.acquire(setup, base, teacher);
        try {
            TrainingState.copyInto(params, bundle.model().trainableParameters().params());
            bundle.model().setDropoutSeed(null);
            double nll = 0;
            double tokens = 0;
            for (int from = 0; from < all.size(); from += setup.batchSize()) {
                TokenBatch batch = PackedRows.toTokenBatch(all.subList(from, Math.min(all.size(),
                        from + setup.batchSize())));
                ForwardPass pass = bundle.model().forward(batch.tokens(), batch.targets(), batch.batch(),
                        batch.seqLen());
                float[] logProbs = pass.logProbs().dup().reshape(batch.batch() * (long) batch.seqLen())
                        .toFloatVector();                                   // [B*T]
                float[] mask = batch.lossMask();                            // [B*T]
                for (int i = 0; i < mask.length; i++) {
                    if (mask[i] != 0) {
                        nll -= (double) mask[i] * logProbs[i];
                        tokens += mask[i];
                    }
                }
            }
            return new double[] {nll, tokens};
        } finally {
            WorkerModels.release(bundle);
        }
    }
}
